import React, { useMemo } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { LinkButton, Stack, useStyles2 } from '@grafana/ui';

import { DASHBOARDS, prefixRoute, ROUTES } from '../constants';
import { buildOverviewScene } from './scenes/overview';
import { ScenePage } from './scenes/ScenePage';

export const testIds = {
  pages: 'netlens-overview-pages',
};

/** The app's other pages, linked from the Overview. */
export const PAGES = [
  {
    route: ROUTES.Drops,
    title: 'Drops',
    description: 'Drop rate by reason and pod, filtered by node, namespace, pod and reason, with live events',
  },
  {
    route: ROUTES.Nic,
    title: 'NIC',
    description: 'Rx cache full, buffer exhaustion and interface drops per node and interface, with the drop rate',
  },
  { route: ROUTES.Nodes, title: 'Nodes', description: 'Every agent: version, kernel, drop source, collectors' },
];

/** The cluster at a glance (see buildOverviewScene), with the ways to dig deeper. */
function Overview() {
  const styles = useStyles2(getStyles);
  const scene = useMemo(() => buildOverviewScene(), []);
  const header = (
    <nav aria-label="Explore" data-testid={testIds.pages} className={styles.nav}>
      <Stack direction="row" gap={1} wrap="wrap">
        {PAGES.map((page) => (
          <LinkButton key={page.route} href={prefixRoute(page.route)} variant="secondary" tooltip={page.description}>
            {page.title}
          </LinkButton>
        ))}
        {DASHBOARDS.map((d) => (
          <LinkButton key={d.url} href={d.url} variant="secondary" fill="outline" icon="apps">
            {d.title}
          </LinkButton>
        ))}
      </Stack>
    </nav>
  );
  return <ScenePage scene={scene} header={header} />;
}

const getStyles = (theme: GrafanaTheme2) => ({
  nav: css({ marginBottom: theme.spacing(2) }),
});

export default Overview;
