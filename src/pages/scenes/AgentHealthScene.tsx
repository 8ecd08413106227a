import React from 'react';
import { css } from '@emotion/css';
import { DataFrame, GrafanaTheme2, LoadingState } from '@grafana/data';
import { sceneGraph, SceneComponentProps, SceneObjectBase, SceneObjectState } from '@grafana/scenes';
import { Alert, LoadingPlaceholder, TextLink, useStyles2 } from '@grafana/ui';

import { prefixRoute, ROUTES } from '../../constants';
import { getPanelBoxStyles } from './styles';

export interface AgentHealth {
  agents: number;
  /** node → the collectors that are down on it. */
  collectorsDown: Array<{ node: string; collectors: string }>;
  /** Agents that did not answer (direct mode only: Prometheus lists what it scraped). */
  unreachable: Array<{ node: string; error: string }>;
}

/** Sums up the nodes table (the `nodes` query: one row per agent). */
export function agentHealth(frames: DataFrame[]): AgentHealth {
  const health: AgentHealth = { agents: 0, collectorsDown: [], unreachable: [] };
  const frame = frames.find((f) => f.fields.some((x) => x.name === 'node'));
  if (!frame) {
    return health;
  }
  const column = (name: string) => frame.fields.find((f) => f.name === name)?.values;
  const nodes = column('node') ?? [];
  const down = column('collectors_down');
  const reachable = column('reachable');
  const errors = column('error');
  health.agents = frame.length;
  for (let i = 0; i < frame.length; i++) {
    const node = String(nodes[i] ?? '');
    if (reachable && reachable[i] === false) {
      health.unreachable.push({ node, error: String(errors?.[i] ?? '') });
    } else if (down?.[i]) {
      health.collectorsDown.push({ node, collectors: String(down[i]) });
    }
  }
  return health;
}

export interface AgentHealthSceneState extends SceneObjectState {
  title: string;
}

/** How many agents report and which of them need attention, from its `$data` (a nodes query). */
export class AgentHealthScene extends SceneObjectBase<AgentHealthSceneState> {
  static Component = AgentHealthRenderer;
}

export const agentHealthTestId = 'netlens-agent-health';

function AgentHealthRenderer({ model }: SceneComponentProps<AgentHealthScene>) {
  const styles = useStyles2(getStyles);
  const { title } = model.useState();
  const { data } = sceneGraph.getData(model).useState();
  const headingId = `${model.state.key}-heading`;
  const errors = (data?.errors ?? []).map((e) => e.message).filter(Boolean);
  const health = agentHealth(data?.series ?? []);
  const loading = !data || data.state === LoadingState.Loading;
  const nodesLink = <TextLink href={prefixRoute(ROUTES.Nodes)}>Nodes</TextLink>;

  let body: React.ReactNode;
  if (errors.length > 0) {
    body = (
      <Alert severity="error" title="Could not list the agents">
        {errors.join('; ')}
      </Alert>
    );
  } else if (loading && health.agents === 0) {
    body = <LoadingPlaceholder text="Loading agents" />;
  } else if (health.agents === 0) {
    body = (
      <Alert severity="warning" title="No agents found">
        No Netlens agent reported in this time range. In Prometheus mode, check that Prometheus scrapes the agents (job
        netlens, see the scrape configs in deploy/scrape); in direct mode, check the agent URLs or DNS name in the data
        source settings.
      </Alert>
    );
  } else {
    const healthy = health.agents - health.collectorsDown.length - health.unreachable.length;
    body = (
      <>
        <p className={styles.figure}>
          <strong>{health.agents}</strong> agent{health.agents === 1 ? '' : 's'} reporting, <strong>{healthy}</strong>{' '}
          healthy
        </p>
        {health.collectorsDown.length + health.unreachable.length > 0 && (
          <ul className={styles.list}>
            {health.unreachable.map((u) => (
              <li key={`u-${u.node}`}>
                {u.node}: not answering{u.error ? ` (${u.error})` : ''}
              </li>
            ))}
            {health.collectorsDown.map((d) => (
              <li key={`d-${d.node}`}>
                {d.node}: collectors down: {d.collectors}
              </li>
            ))}
          </ul>
        )}
        <p className={styles.more}>Versions, kernels and drop sources: {nodesLink}.</p>
      </>
    );
  }

  return (
    <div className={styles.container} role="group" aria-labelledby={headingId} data-testid={agentHealthTestId}>
      <h3 id={headingId} className={styles.heading}>
        {title}
      </h3>
      {body}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  ...getPanelBoxStyles(theme),
  figure: css({ fontSize: theme.typography.h4.fontSize, marginBottom: theme.spacing(1) }),
  list: css({ color: theme.colors.warning.text, paddingLeft: theme.spacing(2) }),
  more: css({ color: theme.colors.text.secondary, margin: 0 }),
});
