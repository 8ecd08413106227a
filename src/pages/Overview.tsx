import React, { useState } from 'react';
import { css } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { PluginPage } from '@grafana/runtime';
import { Card, Combobox, Field, Stack, TextLink, useStyles2 } from '@grafana/ui';

import { DASHBOARD_URLS, prefixRoute, ROUTES } from '../constants';
import { describeDataSource, getNetlensDataSources, NoDataSource } from '../components/DataSources/DataSources';
import { DropReasons } from '../components/ReasonsExplained';

export const testIds = {
  dataSources: 'netlens-overview-datasources',
  pages: 'netlens-overview-pages',
};

/** The app's scenes pages, linked from the Overview. */
export const PAGES = [
  {
    route: ROUTES.Drops,
    title: 'Drops',
    description:
      'Drop rate by reason, pod drops and the reasons explained, filtered by node, namespace, pod and reason',
  },
  {
    route: ROUTES.Nic,
    title: 'NIC',
    description: 'Rx cache full, buffer exhaustion and interface drops per node and interface, with the node drop rate',
  },
  { route: ROUTES.Nodes, title: 'Nodes', description: 'The nodes whose agents report: version, kernel, drop source' },
];

// The Overview lists where Netlens reads from, explains the reasons the nodes
// drop packets right now and leads to the dashboards.
function Overview() {
  const styles = useStyles2(getStyles);
  const dataSources = getNetlensDataSources();
  const [selected, setSelected] = useState<string>();
  const current = dataSources.find((ds) => ds.uid === selected) ?? dataSources[0];

  if (!current) {
    return (
      <PluginPage>
        <NoDataSource />
      </PluginPage>
    );
  }

  return (
    <PluginPage>
      <Stack direction="column" gap={2}>
        <nav aria-labelledby="netlens-overview-explore" data-testid={testIds.pages}>
          <h3 id="netlens-overview-explore" className={styles.heading}>
            Explore
          </h3>
          <Stack direction="row" gap={2} wrap="wrap">
            {PAGES.map((page) => (
              <Card key={page.route} href={prefixRoute(page.route)} className={styles.page}>
                <Card.Heading>{page.title}</Card.Heading>
                <Card.Description>{page.description}</Card.Description>
              </Card>
            ))}
          </Stack>
          <p className={styles.dashboards}>
            Also provisioned: the <TextLink href={DASHBOARD_URLS.drops}>Netlens / Drops</TextLink> dashboard.
          </p>
        </nav>
        {dataSources.length > 1 && (
          <Field label="Data source" description="The Netlens data source this page reads from">
            <Combobox
              id="netlens-overview-datasource"
              width={40}
              options={dataSources.map((ds) => ({ value: ds.uid, label: ds.name }))}
              value={current.uid}
              onChange={(option) => setSelected(option.value)}
            />
          </Field>
        )}
        <section aria-labelledby="netlens-overview-reasons">
          <h3 id="netlens-overview-reasons" className={styles.heading}>
            Why packets are dropped (last hour)
          </h3>
          <DropReasons dataSourceUid={current.uid} />
        </section>
        <section aria-labelledby="netlens-overview-datasources-heading" data-testid={testIds.dataSources}>
          <h3 id="netlens-overview-datasources-heading" className={styles.heading}>
            Data sources
          </h3>
          {dataSources.map((ds) => (
            <Card key={ds.uid} href={`/connections/datasources/edit/${ds.uid}`}>
              <Card.Heading>{ds.name}</Card.Heading>
              <Card.Description>{describeDataSource(ds.jsonData)}</Card.Description>
            </Card>
          ))}
        </section>
      </Stack>
    </PluginPage>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  page: css({
    flex: '1 1 280px',
    marginBottom: 0,
  }),
  dashboards: css({
    color: theme.colors.text.secondary,
    margin: theme.spacing(1, 0, 0),
  }),
  heading: css({
    fontSize: theme.typography.h4.fontSize,
    marginBottom: theme.spacing(1),
  }),
});

export default Overview;
