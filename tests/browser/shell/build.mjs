// Bundles the browser shell (index.tsx) for the browser tests and the preview
// host: node tests/browser/shell/build.mjs <outdir>. The shell carries its own
// copies of the shared @grafana/* packages, React and rxjs, at the versions
// in package-lock.json, and hands them to the plugin through SystemJS.
import * as esbuild from 'esbuild';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const outdir = path.resolve(process.argv[2] ?? path.join(repo, 'tests/browser/shell/out'));
const modules = path.join(repo, 'node_modules');

// Grafana's own frontend initialises these from inside its packages; they
// are not public entry points, so the shell reaches them by path (pinned by
// package-lock.json; the browser tests fail if they move).
const internal = {
  'grafana-runtime-internal': path.join(modules, '@grafana/runtime/dist/esm'),
  'grafana-i18n-internal': path.join(modules, '@grafana/i18n/dist/esm/i18n.mjs'),
};

const aliasInternal = {
  name: 'alias-internal',
  setup(build) {
    build.onResolve({ filter: /^grafana-(runtime|i18n)-internal/ }, (args) => {
      const [name, ...rest] = args.path.split('/');
      return { path: path.join(internal[name], ...rest) };
    });
    // The shell's own @grafana/scenes (its dashboard page) reaches data
    // sources through @grafana/runtime/unstable as the plugin's does: give
    // it the same wrapper the plugin gets from SystemJS (unstable.ts).
    build.onResolve({ filter: /^@grafana\/runtime\/unstable$/ }, (args) =>
      args.importer === path.join(here, 'unstable.ts') ? undefined : { path: path.join(here, 'unstable.ts') }
    );
  },
};

// @grafana/plugin-compat imports names that only some runtime versions
// export and tests them with typeof; esbuild refuses a named import that is
// not there, so the shell reads them from the namespace instead.
const compatImports = {
  name: 'plugin-compat-namespace-imports',
  setup(build) {
    build.onLoad({ filter: /@grafana[\\/]plugin-compat[\\/]dist[\\/]esm[\\/].*\.mjs$/ }, async (args) => {
      let n = 0;
      const src = (await fs.readFile(args.path, 'utf8')).replace(
        /import \{([^}]*)\} from '(@grafana\/runtime[^']*)';/g,
        (_, names, from) => {
          const ns = `__compat${n++}`;
          const reads = names
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
            .map((s) => {
              const [name, alias = name] = s.split(/\s+as\s+/);
              return `const ${alias} = ${ns}[${JSON.stringify(name)}];`;
            });
          return `import * as ${ns} from '${from}';\n${reads.join('\n')}`;
        }
      );
      return { contents: src, loader: 'js' };
    });
  },
};

await esbuild.build({
  entryPoints: [path.join(here, 'index.tsx')],
  bundle: true,
  outfile: path.join(outdir, 'shell.js'),
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  sourcemap: false,
  // Minified like Grafana's own production bundles, so that what the
  // browser parses (and the benchmark measures) is comparable; names kept
  // for code that reads constructor names.
  minify: true,
  keepNames: true,
  legalComments: 'none',
  jsx: 'automatic',
  loader: { '.svg': 'text', '.woff2': 'file', '.ttf': 'file', '.png': 'file' },
  define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
  plugins: [aliasInternal, compatImports],
  logLevel: 'warning',
});
// SystemJS and its AMD extra, loaded by the page after shell.js.
await fs.copyFile(path.join(modules, 'systemjs/dist/system.min.js'), path.join(outdir, 'system.js'));
await fs.copyFile(path.join(modules, 'systemjs/dist/extras/amd.min.js'), path.join(outdir, 'amd.js'));
// Grafana's images (icons, the spinner) from @grafana/ui, and Inter as
// Grafana's theme asks for it, from Debian's fonts-inter (OpenType under
// the .woff2 names; the browser reads the format from the file).
await fs.cp(path.join(modules, '@grafana/ui/dist/public/img'), path.join(outdir, 'img'), { recursive: true });
await fs.mkdir(path.join(outdir, 'fonts/inter'), { recursive: true });
for (const face of ['Regular', 'Medium', 'Italic', 'MediumItalic']) {
  await fs.copyFile(
    `/usr/share/fonts/opentype/inter/Inter-${face}.otf`,
    path.join(outdir, `fonts/inter/Inter-${face}.woff2`)
  );
}
// Roboto Mono (numbers, code) as Debian's DejaVu Sans Mono.
await fs.mkdir(path.join(outdir, 'fonts/roboto'), { recursive: true });
await fs.copyFile(
  '/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf',
  path.join(outdir, 'fonts/roboto/L0xTDF4xlVMF-BfR8bXMIhJHg45mwgGEFl0_3vrtSM1J-gEPT5Ese6hmHSh0mQ.woff2')
);
console.log(`shell built into ${outdir}`);
