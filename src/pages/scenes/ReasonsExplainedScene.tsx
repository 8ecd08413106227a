import React from 'react';
import { LoadingState } from '@grafana/data';
import { sceneGraph, SceneComponentProps, SceneObjectBase, SceneObjectState } from '@grafana/scenes';
import { useStyles2 } from '@grafana/ui';

import { ReasonsExplained, reasonsInData, useReasonCatalog } from '../../components/ReasonsExplained';
import { DS_VARIABLE } from './common';
import { getPanelBoxStyles } from './styles';

export interface ReasonsExplainedSceneState extends SceneObjectState {
  title: string;
  /** Unit of the rates in the data (pps for packets, Bps for bytes). */
  unit?: string;
}

/**
 * The reasons explained component as a scene object: the reasons come from
 * the object's data (`$data`, a drops query grouped by reason, or a proxy of
 * the drops panel's runner) and the catalog from the data source the `ds`
 * variable selects.
 */
export class ReasonsExplainedScene extends SceneObjectBase<ReasonsExplainedSceneState> {
  static Component = ReasonsExplainedRenderer;
}

function ReasonsExplainedRenderer({ model }: SceneComponentProps<ReasonsExplainedScene>) {
  const styles = useStyles2(getPanelBoxStyles);
  const { title, unit } = model.useState();
  const { data } = sceneGraph.getData(model).useState();
  // Re-render when the data source changes.
  sceneGraph.lookupVariable(DS_VARIABLE, model)?.useState();
  const uid = sceneGraph.interpolate(model, `\${${DS_VARIABLE}}`);
  const reasons = reasonsInData(data?.series ?? []);
  const catalog = useReasonCatalog(
    uid && !uid.startsWith('$') ? uid : undefined,
    reasons.map((r) => r.reason)
  );

  const errors = (data?.errors ?? []).map((e) => e.message).filter(Boolean);
  const error = [errors.length > 0 ? `Drops: ${errors.join('; ')}` : undefined, catalog.error]
    .filter(Boolean)
    .join('; ');
  const headingId = `${model.state.key}-heading`;

  return (
    <div className={styles.container} role="group" aria-labelledby={headingId}>
      <h3 id={headingId} className={styles.heading}>
        {title}
      </h3>
      <ReasonsExplained
        reasons={reasons}
        catalog={catalog.catalog}
        loading={!data || data.state === LoadingState.Loading || catalog.loading}
        error={error || undefined}
        unit={unit}
      />
    </div>
  );
}
