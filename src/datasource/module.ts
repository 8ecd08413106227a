import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { QueryEditor } from './components/QueryEditor';
import { DataSource } from './datasource';
import { NetlensOptions, NetlensQuery, NetlensSecureOptions } from './types';

export const plugin = new DataSourcePlugin<DataSource, NetlensQuery, NetlensOptions, NetlensSecureOptions>(DataSource)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
