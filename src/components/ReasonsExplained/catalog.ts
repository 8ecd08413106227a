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
  /**
   * The backend's generic explanation of a reason the catalog lacks (a kernel
   * newer than the catalog), not a catalog entry: shown as such.
   */
  generic?: boolean;
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

// Explanations of reasons the catalog lacks, per data source and reason.
const explanations = new Map<string, Map<string, Promise<ReasonEntry>>>();

/**
 * The data source's explanations of the named reasons (`/reasons?reason=A,B`):
 * the catalog entry, or the backend's one generic explanation for a reason the
 * catalog lacks. Each reason is fetched once per data source.
 */
export function fetchReasonExplanations(dataSourceUid: string, reasons: string[]): Promise<ReasonEntry[]> {
  let known = explanations.get(dataSourceUid);
  if (!known) {
    known = new Map();
    explanations.set(dataSourceUid, known);
  }
  const cache = known;
  const wanted = [...new Set(reasons)];
  const missing = wanted.filter((r) => !cache.has(r));
  if (missing.length > 0) {
    const pending = lastValueFrom(
      getBackendSrv().fetch<ReasonEntry[]>({
        url: `/api/datasources/uid/${encodeURIComponent(dataSourceUid)}/resources/reasons`,
        method: 'GET',
        params: { reason: missing.join(',') },
        showErrorAlert: false,
      })
    ).then((response) => {
      if (!Array.isArray(response.data)) {
        throw new Error('The data source answered /reasons with something other than a list');
      }
      return new Map(response.data.map((e) => [e.reason, e]));
    });
    for (const reason of missing) {
      const entry = pending.then((byReason) => {
        const e = byReason.get(reason);
        if (!e) {
          throw new Error(`The data source did not explain ${reason}`);
        }
        return e;
      });
      cache.set(reason, entry);
      // A failure is not remembered: the next render asks again.
      entry.catch(() => cache.delete(reason));
    }
  }
  return Promise.all(wanted.map((r) => cache.get(r) ?? Promise.reject(new Error(`No explanation of ${r}`))));
}

/** Forgets fetched catalogs and explanations (tests). */
export function clearReasonCatalogCache() {
  catalogs.clear();
  explanations.clear();
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
