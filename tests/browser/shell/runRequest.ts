// runRequest as Grafana's query runner does it for scenes: one request to
// the data source (or queryFunction), responses gathered into PanelData with
// the request, the time range and the loading state. Frames stay as the data
// source gave them; the panels and transformations see the real frames.
import {
  DataQueryError,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  LoadingState,
  PanelData,
  dateTime,
} from '@grafana/data';
import { Observable, catchError, from, map, of } from 'rxjs';

function toError(e: any): DataQueryError {
  return { message: e?.data?.message ?? e?.message ?? String(e), status: e?.status };
}

export function runRequest(
  ds: DataSourceApi,
  request: DataQueryRequest,
  queryFunction?: typeof ds.query
): Observable<PanelData> {
  const started = Date.now();
  const query = queryFunction ?? ds.query.bind(ds);
  const base: PanelData = { state: LoadingState.Loading, series: [], request, timeRange: request.range };
  const result = query(request) as Observable<DataQueryResponse> | Promise<DataQueryResponse>;
  const stream = result instanceof Observable ? result : from(result);
  const frames = new Map<string, DataQueryResponse['data']>();
  return stream.pipe(
    map((rsp): PanelData => {
      frames.set(rsp.key ?? 'A', rsp.data);
      const errors = rsp.errors ?? (rsp.error ? [rsp.error] : undefined);
      request.endTime = Date.now();
      return {
        ...base,
        state: errors?.length ? LoadingState.Error : (rsp.state ?? LoadingState.Done),
        series: [...frames.values()].flat(),
        errors,
        error: errors?.[0],
        timings: { dataProcessingTime: Date.now() - started },
      };
    }),
    catchError((e) =>
      of({
        ...base,
        state: LoadingState.Error,
        error: toError(e),
        errors: [toError(e)],
        timeRange: request.range ?? { from: dateTime(), to: dateTime(), raw: { from: 'now', to: 'now' } },
      })
    )
  );
}
