import { useEffect, useState } from 'react';
import { from, lastValueFrom } from 'rxjs';
import { DataQueryRequest, dateTime, TimeRange } from '@grafana/data';
import { getDataSourceSrv } from '@grafana/runtime';

import { NetlensQuery } from '../../datasource/types';
import { ReasonRate, reasonsInData } from './catalog';
import { errorMessage } from './ReasonsExplained';

/** The query the reasons come from: the cluster's drop rate by reason. */
export const DROPS_BY_REASON: NetlensQuery = {
  refId: 'reasons',
  queryType: 'drops',
  groupBy: ['reason'],
  value: 'packets',
  rate: true,
};

/** The request for the reasons dropping over the last `minutes` (one point a minute). */
export function dropReasonsRequest(minutes: number, now = dateTime()): DataQueryRequest<NetlensQuery> {
  const range: TimeRange = {
    from: dateTime(now).subtract(minutes, 'minutes'),
    to: dateTime(now),
    raw: { from: `now-${minutes}m`, to: 'now' },
  };
  return {
    requestId: 'netlens-drop-reasons',
    app: 'netlens-network-app',
    interval: '1m',
    intervalMs: 60_000,
    maxDataPoints: minutes,
    range,
    rangeRaw: range.raw,
    scopedVars: {},
    targets: [DROPS_BY_REASON],
    timezone: 'browser',
    startTime: Date.now(),
  };
}

async function runDropReasons(uid: string, minutes: number) {
  // The replacements (getDataSourceInstance in @grafana/runtime/unstable) are
  // not in Grafana 12.4, which this app still supports.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const ds = await getDataSourceSrv().get({ uid });
  // query answers with an Observable or a Promise depending on the data source.
  return lastValueFrom(from(ds.query(dropReasonsRequest(minutes))));
}

/**
 * Runs DROPS_BY_REASON on a Netlens data source over the last `minutes`: the
 * reasons dropping packets, with loading and error states. (Pages built with
 * @grafana/scenes would take the same frames from a SceneQueryRunner.)
 */
export function useDropReasons(dataSourceUid: string | undefined, minutes = 60) {
  const [state, setState] = useState<{ uid?: string; reasons: ReasonRate[]; error?: string }>({ reasons: [] });
  useEffect(() => {
    if (!dataSourceUid) {
      return;
    }
    let current = true;
    runDropReasons(dataSourceUid, minutes).then(
      (response) => {
        const messages = (response.errors ?? []).map((e) => e.message).filter(Boolean);
        const error = messages.length > 0 ? `Drops: ${messages.join('; ')}` : undefined;
        current && setState({ uid: dataSourceUid, reasons: reasonsInData(response.data ?? []), error });
      },
      (e) => current && setState({ uid: dataSourceUid, reasons: [], error: `Drops: ${errorMessage(e)}` })
    );
    return () => {
      current = false;
    };
  }, [dataSourceUid, minutes]);
  const fresh = state.uid === dataSourceUid;
  return {
    reasons: fresh ? state.reasons : [],
    error: fresh ? state.error : undefined,
    loading: Boolean(dataSourceUid) && !fresh,
  };
}
