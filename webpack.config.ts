// Extends create-plugin's webpack config (.config/ is managed by create-plugin
// and must not be edited) with what a nested-plugin app needs beyond it.
import CopyWebpackPlugin from 'copy-webpack-plugin';
import type { Configuration } from 'webpack';
import { merge } from 'webpack-merge';

import grafanaConfig, { type Env } from './.config/webpack/webpack.config.ts';

const config = async (env: Env): Promise<Configuration> => {
  const baseConfig = await grafanaConfig(env);
  return merge(baseConfig, {
    plugins: [
      new CopyWebpackPlugin({
        patterns: [
          // Dashboards live at the top level (shared with provisioning and the
          // Prometheus-only variants); src/plugin.json includes them from dist/dashboards.
          { from: '../dashboards/*.json', to: 'dashboards/[name][ext]' },
          // create-plugin only copies the root plugin's logos.
          { from: 'datasource/img/logo.svg', to: 'datasource/img/logo.svg' },
          { from: 'panels/reasons/img/logo.svg', to: 'panels/reasons/img/logo.svg' },
        ],
      }),
    ],
  });
};

export default config;
