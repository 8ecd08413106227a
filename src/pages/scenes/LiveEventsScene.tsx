import React from 'react';
import { sceneGraph, SceneComponentProps, SceneObjectBase, SceneObject, SceneObjectState } from '@grafana/scenes';
import { Alert } from '@grafana/ui';

import { instanceSettings } from '../../components/DataSources/DataSources';
import type { NetlensOptions } from '../../datasource/types';
import { DS_VARIABLE } from './common';

export interface LiveEventsSceneState extends SceneObjectState {
  /** The events table; its query runs (and its live stream opens) only while it is shown. */
  panel: SceneObject;
}

export const LIVE_EVENTS_NEEDS_DIRECT = 'Live drop events need a data source in direct mode';

/**
 * The live drop event tail: the panel when the selected data source reads
 * the agents directly (the backend streams their events through Grafana
 * Live), otherwise a note on how to get there. Prometheus holds counters, not
 * events, so in Prometheus mode the panel would only show an error.
 */
export class LiveEventsScene extends SceneObjectBase<LiveEventsSceneState> {
  static Component = LiveEventsRenderer;
}

/** The mode of the data source `uid`, undefined when Grafana does not know it. */
export function modeOf(uid: string): NetlensOptions['mode'] | undefined {
  const settings = instanceSettings(uid);
  if (!settings) {
    return undefined;
  }
  return (settings.jsonData as NetlensOptions).mode ?? 'prometheus';
}

function LiveEventsRenderer({ model }: SceneComponentProps<LiveEventsScene>) {
  const { panel } = model.useState();
  // Re-render when another data source is selected.
  sceneGraph.lookupVariable(DS_VARIABLE, model)?.useState();
  const uid = sceneGraph.interpolate(model, `\${${DS_VARIABLE}}`);
  const mode = modeOf(uid);

  if (mode !== 'direct') {
    return (
      <Alert severity="info" title={LIVE_EVENTS_NEEDS_DIRECT}>
        Individual drop events (time, pods, addresses, ports, kernel function) come from the agents, not from
        Prometheus. Select a Netlens data source in direct mode, or add one that lists the agents&apos; URLs or their
        headless service name.
      </Alert>
    );
  }
  return <panel.Component model={panel} />;
}
