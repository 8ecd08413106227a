import './intersectionObserver.mock';
import React from 'react';
import { createDataFrame, DataFrame, getDefaultTimeRange, LoadingState } from '@grafana/data';
import { SceneDataNode, SceneFlexItem, SceneFlexLayout } from '@grafana/scenes';
import { MemoryRouter } from 'react-router-dom';
import { render, screen } from '@testing-library/react';

import { agentHealth, AgentHealthScene } from './AgentHealthScene';

/** A nodes table as direct mode answers it (Prometheus mode has no reachable/error columns). */
function nodes(rows: Array<{ node: string; down?: string; reachable?: boolean; error?: string }>, direct = true) {
  const fields = [
    { name: 'node', values: rows.map((r) => r.node) },
    { name: 'version', values: rows.map(() => '0.1.0') },
    { name: 'collectors_down', values: rows.map((r) => r.down ?? '') },
  ];
  if (direct) {
    fields.push(
      { name: 'reachable', values: rows.map((r) => r.reachable ?? true) as never },
      { name: 'error', values: rows.map((r) => r.error ?? '') }
    );
  }
  return createDataFrame({ name: 'nodes', fields });
}

function renderWith(series: DataFrame[], state = LoadingState.Done, errors?: Array<{ message: string }>) {
  const scene = new SceneFlexLayout({
    children: [
      new SceneFlexItem({
        body: new AgentHealthScene({
          title: 'Agents',
          $data: new SceneDataNode({ data: { state, series, errors, timeRange: getDefaultTimeRange() } }),
        }),
      }),
    ],
  });
  // Grafana renders app pages inside its router (the Nodes link needs one).
  render(
    <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
      <scene.Component model={scene} />
    </MemoryRouter>
  );
}

describe('agentHealth', () => {
  it('counts the agents and lists those not answering and those with collectors down', () => {
    const health = agentHealth([
      nodes([
        { node: 'n1' },
        { node: 'n2', down: 'nic, conntrack' },
        { node: 'n3', reachable: false, error: 'connection refused' },
      ]),
    ]);
    expect(health).toEqual({
      agents: 3,
      collectorsDown: [{ node: 'n2', collectors: 'nic, conntrack' }],
      unreachable: [{ node: 'n3', error: 'connection refused' }],
    });
  });

  it('reads the Prometheus-mode table, which has no reachable column', () => {
    expect(agentHealth([nodes([{ node: 'n1', down: 'drops' }, { node: 'n2' }], false)])).toEqual({
      agents: 2,
      collectorsDown: [{ node: 'n1', collectors: 'drops' }],
      unreachable: [],
    });
  });

  it('finds no agents in no data', () => {
    expect(agentHealth([])).toEqual({ agents: 0, collectorsDown: [], unreachable: [] });
  });
});

describe('AgentHealthScene', () => {
  it('shows how many agents report and which need attention, with a link to the Nodes page', () => {
    renderWith([nodes([{ node: 'n1' }, { node: 'n2', down: 'nic' }, { node: 'n3', reachable: false }])]);
    const group = screen.getByRole('group', { name: 'Agents' });
    expect(group).toHaveTextContent('3 agents reporting, 1 healthy');
    expect(screen.getByText('n2: collectors down: nic')).toBeInTheDocument();
    expect(screen.getByText('n3: not answering')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Nodes' })).toHaveAttribute('href', '/a/netlens-network-app/nodes');
  });

  it('tells the user where to look when no agent reports', () => {
    renderWith([nodes([])]);
    expect(screen.getByText('No agents found')).toBeInTheDocument();
    expect(screen.getByText(/check that Prometheus scrapes the agents/)).toBeInTheDocument();
  });

  it("shows the query's error instead of a count", () => {
    renderWith([], LoadingState.Error, [{ message: 'Prometheus at http://p:9090 cannot be reached' }]);
    expect(screen.getByText('Could not list the agents')).toBeInTheDocument();
    expect(screen.getByText('Prometheus at http://p:9090 cannot be reached')).toBeInTheDocument();
    expect(screen.queryByText(/agents reporting/)).not.toBeInTheDocument();
  });

  it('shows a loading state until the first answer', () => {
    renderWith([], LoadingState.Loading);
    expect(screen.getByText('Loading agents')).toBeInTheDocument();
  });
});
