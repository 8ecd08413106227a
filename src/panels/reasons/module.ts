import { PanelPlugin } from '@grafana/data';

import { ReasonsPanel } from './ReasonsPanel';
import { DEFAULT_OPTIONS, type ReasonsPanelOptions } from './types';

export const plugin = new PanelPlugin<ReasonsPanelOptions>(ReasonsPanel).setPanelOptions((builder) =>
  builder
    .addRadio({
      path: 'unit',
      name: 'Unit',
      description: 'What the query counts: packets (pps) or bytes (Bps) per second',
      defaultValue: DEFAULT_OPTIONS.unit,
      settings: {
        options: [
          { value: 'pps', label: 'Packets' },
          { value: 'Bps', label: 'Bytes' },
        ],
      },
    })
    .addBooleanSwitch({
      path: 'linkToDrops',
      name: 'Link to the Drops page',
      description: "Each reason links to the Netlens app's Drops page filtered by it (needs the app enabled)",
      defaultValue: DEFAULT_OPTIONS.linkToDrops,
    })
);
