// The shared modules Grafana's plugin loader hands to plugins: every name in
// the plugin's webpack externals (.config/bundler/externals.ts) that the
// built modules ask for. Each is registered with SystemJS as Grafana does,
// under "package:<name>" with an import map entry, so that the plugin's AMD
// modules (loaded by SystemJS's AMD extra) receive the shell's own instances.
import * as emotionCss from '@emotion/css';
import * as emotionReact from '@emotion/react';
import * as data from '@grafana/data';
import * as runtime from '@grafana/runtime';
import * as ui from '@grafana/ui';
import * as i18next from 'i18next';
import * as reactRouter from 'react-router';
import * as rxjs from 'rxjs';

import * as unstable from './unstable';

// esm gives an ES module's namespace as webpack's interop expects it, with
// __esModule and live bindings (PluginPage is replaced after import).
function esm(ns: object): object {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(ns)) {
    Object.defineProperty(out, key, { enumerable: true, get: () => (ns as Record<string, unknown>)[key] });
  }
  Object.defineProperty(out, '__esModule', { value: true });
  return out;
}

/* eslint-disable @typescript-eslint/no-require-imports */
// A CommonJS package (React, lodash) reaches the plugin as its
// module.exports (require), an ES module as its namespace: imported, not
// required, since require would pick a package's separate CommonJS build
// and the plugin would see other service singletons than the shell sets.
const shared: Record<string, () => unknown> = {
  '@emotion/css': () => esm(emotionCss),
  '@emotion/react': () => esm(emotionReact),
  '@grafana/data': () => esm(data),
  '@grafana/runtime': () => esm(runtime),
  '@grafana/runtime/unstable': () => esm(unstable),
  '@grafana/ui': () => esm(ui),
  i18next: () => esm(i18next),
  lodash: () => require('lodash'),
  react: () => require('react'),
  'react-dom': () => require('react-dom'),
  'react-router': () => esm(reactRouter),
  'react/jsx-runtime': () => require('react/jsx-runtime'),
  rxjs: () => esm(rxjs),
};
/* eslint-enable @typescript-eslint/no-require-imports */

interface SystemJS {
  set(id: string, module: object): void;
  addImportMap(map: { imports: Record<string, string> }): void;
  import(id: string): Promise<any>;
}

export function systemJS(): SystemJS {
  const s = (window as unknown as { System?: SystemJS }).System;
  if (!s) {
    throw new Error('SystemJS is not loaded: the shell page loads system.js and extras/amd.js after shell.js');
  }
  return s;
}

// registerShared makes the shared modules importable by the plugin.
export function registerShared() {
  const s = systemJS();
  const imports: Record<string, string> = {};
  for (const [name, load] of Object.entries(shared)) {
    const id = `package:${name}`;
    s.set(id, { default: load(), __useDefault: true });
    imports[name] = id;
  }
  s.addImportMap({ imports });
}

// importPlugin loads a plugin's module.js as Grafana's loader does.
export async function importPlugin(module: string): Promise<any> {
  const path = module.startsWith('/') ? module : `/${module}`;
  return systemJS().import(path);
}
