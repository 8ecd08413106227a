import { lastValueFrom } from 'rxjs';
import { DataFrame, FieldType } from '@grafana/data';
import { getBackendSrv } from '@grafana/runtime';

/** One entry of the reason catalog as GET /reasons returns it (agent/reasons.Entry). */
export interface ReasonEntry {
  reason: string;
  meaning: string;
  cause: string;
  check: string[];
  /** NOT_DROPPED_YET and CONSUMED. */
  notADrop?: boolean;
  /** A Netlens pseudo reason (UNKNOWN, ACL_DROP, ENDPOINT_DROP), not a kernel enum value. */
  netlens?: boolean;
  /** The kernel release that renamed or removed an old name. */
  removedIn?: string;
}

// The catalog is compiled into the data source backend, so one fetch per data
// source serves every page until Grafana reloads.
const catalogs = new Map<string, Promise<ReasonEntry[]>>();

/** The reason catalog of a Netlens data source, from its `/reasons` resource. */
export function fetchReasonCatalog(dataSourceUid: string): Promise<ReasonEntry[]> {
  let pending = catalogs.get(dataSourceUid);
  if (!pending) {
    pending = lastValueFrom(
      getBackendSrv().fetch<ReasonEntry[]>({
        url: `/api/datasources/uid/${encodeURIComponent(dataSourceUid)}/resources/reasons`,
        method: 'GET',
        showErrorAlert: false,
      })
    ).then((response) => {
      if (!Array.isArray(response.data)) {
        throw new Error('The data source answered /reasons with something other than a list');
      }
      return response.data;
    });
    catalogs.set(dataSourceUid, pending);
    // A failure is not remembered: the next page asks again.
    pending.catch(() => catalogs.delete(dataSourceUid));
  }
  return pending;
}

/** Forgets fetched catalogs (tests). */
export function clearReasonCatalogCache() {
  catalogs.clear();
}

/** A reason seen dropping in query results. */
export interface ReasonRate {
  reason: string;
  /** Sum over the reason's series of each series' latest value. */
  latest: number;
  /** Sum over the reason's series of each series' largest value. */
  peak: number;
}

/**
 * The reasons that dropped packets in the given frames (a drops or podDrops
 * query grouped by reason): every number field with a `reason` label and a
 * value above zero, summed per reason, busiest (by latest, then peak) first.
 */
export function reasonsInData(frames: DataFrame[]): ReasonRate[] {
  const byReason = new Map<string, ReasonRate>();
  for (const frame of frames) {
    for (const field of frame.fields) {
      const reason = field.labels?.reason;
      if (field.type !== FieldType.number || !reason) {
        continue;
      }
      let latest: number | undefined;
      let peak = 0;
      for (const v of field.values) {
        if (typeof v === 'number' && Number.isFinite(v)) {
          latest = v;
          peak = Math.max(peak, v);
        }
      }
      if (peak <= 0) {
        continue;
      }
      const entry = byReason.get(reason) ?? { reason, latest: 0, peak: 0 };
      entry.latest += latest ?? 0;
      entry.peak += peak;
      byReason.set(reason, entry);
    }
  }
  return [...byReason.values()].sort(
    (a, b) => b.latest - a.latest || b.peak - a.peak || a.reason.localeCompare(b.reason)
  );
}
