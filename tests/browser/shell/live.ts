// Grafana Live as the runtime's streaming support for backend data sources
// reaches it: frames whose meta.channel names a Live channel become
// StreamingDataFrames fed by a centrifuge subscription to
// "<org>/<scope>/<stream>/<path>" on the host's /api/live/ws.
import {
  DataQueryResponse,
  LoadingState,
  LiveChannelAddress,
  StreamingDataFrame,
  toLiveChannelId,
} from '@grafana/data';
import { GrafanaLiveSrv, LiveDataStreamOptions } from '@grafana/runtime';
import { Centrifuge } from 'centrifuge';
import { Observable } from 'rxjs';

let client: Centrifuge | undefined;

function connection(): Centrifuge {
  if (!client) {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    client = new Centrifuge(`${proto}://${location.host}/api/live/ws`);
    client.connect();
  }
  return client;
}

// Grafana's Live client prefixes the channel id (scope/stream/path) with the org.
function channel(addr: LiveChannelAddress): string {
  return `1/${toLiveChannelId(addr)}`;
}

export const liveSrv = {
  isConnected: () => client?.state === 'connected',
  getConnectionState: () =>
    new Observable<boolean>((sub) => {
      sub.next(client?.state === 'connected');
    }),
  getDataStream(opts: LiveDataStreamOptions): Observable<DataQueryResponse> {
    return new Observable((sub) => {
      const key = opts.key ?? channel(opts.addr);
      const frame = opts.frame
        ? StreamingDataFrame.fromDataFrameJSON(opts.frame, opts.buffer)
        : StreamingDataFrame.empty(opts.buffer);
      sub.next({ key, state: LoadingState.Streaming, data: [frame] });
      const c = connection();
      const s = c.getSubscription(channel(opts.addr)) ?? c.newSubscription(channel(opts.addr));
      const onPublication = (ctx: { data: unknown }) => {
        frame.push(ctx.data as never);
        sub.next({ key, state: LoadingState.Streaming, data: [frame] });
      };
      const onError = (ctx: { error: { message: string } }) => {
        sub.next({ key, state: LoadingState.Error, data: [frame], error: { message: ctx.error.message } });
      };
      s.on('publication', onPublication);
      s.on('error', onError);
      s.subscribe();
      return () => {
        s.removeListener('publication', onPublication);
        s.removeListener('error', onError);
        s.unsubscribe();
        c.removeSubscription(s);
      };
    });
  },
  getStream: () => {
    throw new Error('plain Live streams are not used by Netlens');
  },
  getPresence: () => Promise.reject(new Error('Live presence is not served by the Netlens preview host')),
  publish: () => Promise.reject(new Error('Live publish is not served by the Netlens preview host')),
} as unknown as GrafanaLiveSrv;
