import React from 'react';
import { css } from '@emotion/css';
import { LoadingState, PanelData, PanelProps } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { DATASOURCE_PLUGIN_ID, prefixRoute, ROUTES } from '../../constants';
import { getNetlensDataSources, instanceSettings } from '../../components/DataSources/DataSources';
import { ReasonsExplained, reasonsInData, useReasonCatalog } from '../../components/ReasonsExplained';
import type { ReasonsPanelOptions } from './types';

/**
 * The Netlens data source whose reason catalog explains the panel's reasons:
 * the one the panel queries, or, when the panel reads another data source
 * (a plain Prometheus), the default Netlens data source.
 */
export function catalogDataSource(data: PanelData, replaceVariables: (s: string) => string): string | undefined {
  for (const target of data.request?.targets ?? []) {
    const uid = target.datasource?.uid;
    if (!uid) {
      continue;
    }
    const settings = instanceSettings(replaceVariables(uid));
    if (settings?.type === DATASOURCE_PLUGIN_ID) {
      return settings.uid;
    }
  }
  return getNetlensDataSources()[0]?.uid;
}

/** The app's Drops page filtered by a reason, over the panel's time range. */
export function dropsOfReason(reason: string, dataSourceUid: string | undefined, data: PanelData): string {
  const params = new URLSearchParams();
  if (dataSourceUid) {
    params.set('var-ds', dataSourceUid);
  }
  params.set('var-reason', reason);
  params.set('from', String(data.timeRange.from.valueOf()));
  params.set('to', String(data.timeRange.to.valueOf()));
  return `${prefixRoute(ROUTES.Drops)}?${params.toString()}`;
}

/**
 * Each kernel drop reason in the panel's data (series with a `reason` label),
 * with its latest and peak rate and the catalog's meaning, likely cause and
 * what to check: the explanations a time series panel cannot show.
 */
export function ReasonsPanel({ data, options, width, height, replaceVariables }: PanelProps<ReasonsPanelOptions>) {
  const styles = useStyles2(getStyles);
  const uid = catalogDataSource(data, replaceVariables);
  const reasons = reasonsInData(data.series);
  const catalog = useReasonCatalog(
    uid,
    reasons.map((r) => r.reason)
  );
  const errors = [
    ...(data.errors ?? []).map((e) => e.message).filter(Boolean),
    catalog.error,
    uid ? undefined : 'No Netlens data source to read the reason catalog from: add one to see explanations.',
  ].filter(Boolean);

  return (
    <div className={styles.container} style={{ width, height }}>
      <ReasonsExplained
        reasons={reasons}
        catalog={catalog.catalog}
        loading={data.state === LoadingState.Loading || catalog.loading}
        error={errors.length > 0 ? errors.join('; ') : undefined}
        unit={options.unit}
        reasonHref={options.linkToDrops ? (reason) => dropsOfReason(reason, uid, data) : undefined}
      />
    </div>
  );
}

const getStyles = () => ({
  container: css({ overflow: 'auto' }),
});
