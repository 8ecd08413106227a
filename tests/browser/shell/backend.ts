// The runtime's BackendSrv over fetch, with Grafana's behaviour where the
// plugin depends on it: JSON in and out, FetchResponse shapes, errors as
// FetchError with the server's {message}, and the app's error toasts.
import { AppEvents } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, FetchError, FetchResponse, getAppEvents } from '@grafana/runtime';
import { Observable, lastValueFrom } from 'rxjs';

function url(req: BackendSrvRequest): string {
  let u = req.url;
  if (req.params && Object.keys(req.params).length) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(req.params)) {
      for (const item of Array.isArray(v) ? v : [v]) {
        if (item !== undefined && item !== null) {
          q.append(k, String(item));
        }
      }
    }
    u += (u.includes('?') ? '&' : '?') + q.toString();
  }
  return u.startsWith('/') || u.startsWith('http') ? u : `/${u}`;
}

function doFetch<T>(req: BackendSrvRequest): Observable<FetchResponse<T>> {
  return new Observable((sub) => {
    const ctrl = new AbortController();
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    let body: BodyInit | undefined;
    if (req.data !== undefined) {
      if (typeof req.data === 'string') {
        body = req.data;
      } else {
        body = JSON.stringify(req.data);
        headers['Content-Type'] = headers['Content-Type'] ?? 'application/json';
      }
    }
    fetch(url(req), { method: req.method ?? 'GET', headers, body, signal: ctrl.signal, credentials: 'same-origin' })
      .then(async (res) => {
        const text = await res.text();
        let data: any = text;
        if (req.responseType !== 'text') {
          try {
            data = text === '' ? {} : JSON.parse(text);
          } catch {
            data = text;
          }
        }
        const out: FetchResponse<T> = {
          data,
          status: res.status,
          statusText: res.statusText,
          ok: res.ok,
          headers: res.headers,
          redirected: res.redirected,
          type: res.type,
          url: res.url,
          config: req,
        };
        if (!res.ok) {
          const err: FetchError = {
            status: res.status,
            statusText: res.statusText,
            data,
            config: req,
            message: typeof data?.message === 'string' ? data.message : res.statusText,
          };
          if (req.showErrorAlert !== false && !req.hideFromInspector) {
            getAppEvents().publish({ type: AppEvents.alertError.name, payload: [err.message] });
          }
          sub.error(err);
          return;
        }
        if (req.showSuccessAlert && data?.message) {
          getAppEvents().publish({ type: AppEvents.alertSuccess.name, payload: [data.message] });
        }
        sub.next(out);
        sub.complete();
      })
      .catch((e) => {
        if (e?.name !== 'AbortError') {
          sub.error({ status: 0, statusText: String(e), data: {}, config: req, message: String(e) } as FetchError);
        }
      });
    return () => ctrl.abort();
  });
}

async function request<T>(req: BackendSrvRequest): Promise<T> {
  const res = await lastValueFrom(doFetch<T>(req));
  return res.data;
}

export const backendSrv = {
  fetch: doFetch,
  request,
  datasourceRequest: (req: BackendSrvRequest) => lastValueFrom(doFetch(req)),
  get: (u: string, params?: any, _requestId?: string, options?: Partial<BackendSrvRequest>) =>
    request({ ...options, url: u, params, method: 'GET' }),
  delete: (u: string, data?: any, options?: Partial<BackendSrvRequest>) =>
    request({ ...options, url: u, data, method: 'DELETE' }),
  post: (u: string, data?: any, options?: Partial<BackendSrvRequest>) =>
    request({ ...options, url: u, data, method: 'POST' }),
  patch: (u: string, data?: any, options?: Partial<BackendSrvRequest>) =>
    request({ ...options, url: u, data, method: 'PATCH' }),
  put: (u: string, data?: any, options?: Partial<BackendSrvRequest>) =>
    request({ ...options, url: u, data, method: 'PUT' }),
  resolveCancelerIfExists: () => {},
  chunked: () => {
    throw new Error('chunked requests are not served by the Netlens preview host');
  },
} as unknown as BackendSrv;
