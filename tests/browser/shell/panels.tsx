// Panels as Grafana's plugin loader gives them to scenes. Grafana's core
// panels (time series, table, stat) are Grafana's own code and not on npm:
// the shell renders them with stand-ins that show every value they receive,
// so that tests can read the numbers. Plugin panels (Netlens's reasons
// panel) load through SystemJS and run for real.
import {
  DataFrame,
  Field,
  LinkModel,
  PanelPlugin,
  PanelPluginMeta,
  PanelProps,
  formattedValueToString,
  getDisplayProcessor,
  getFieldDisplayName,
  reduceField,
} from '@grafana/data';
import { config, locationService } from '@grafana/runtime';
import { useTheme2 } from '@grafana/ui';
import React from 'react';

import { importPlugin } from './systemjs';

// The name Grafana's own panels show: displayName, displayNameFromDS, or
// the field's name with its labels.
function fieldName(frame: DataFrame, i: number, all: DataFrame[]): string {
  return getFieldDisplayName(frame.fields[i], frame, all);
}

// A field's data links for row r, as Grafana's table renders them: the
// panel's field config (applyFieldOverrides) gives the field getLinks.
function linksOf(f: Field, r: number): LinkModel[] {
  return f.config.links?.length && f.getLinks ? f.getLinks({ valueRowIndex: r }) : [];
}

function Value({ text, links }: { text: string; links: LinkModel[] }) {
  if (!links.length) {
    return <>{text}</>;
  }
  // Grafana's table opens a cell's only link on click and lists several in
  // a menu; the first is enough here. Links inside Grafana move within the
  // single-page app, as Grafana's do, rather than reloading the page.
  const link = links[0];
  const onClick = (e: React.MouseEvent) => {
    if (link.onClick) {
      link.onClick(e);
    } else if (!link.target && link.href.startsWith('/') && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      locationService.push(link.href);
    }
  };
  return (
    <a href={link.href} title={link.title} target={link.target} onClick={onClick}>
      {text}
    </a>
  );
}

export function FramesTable({ data, testid }: PanelProps & { testid: string }) {
  const theme = useTheme2();
  return (
    // A scrolling region is focusable so that keyboard users can scroll it.
    <div style={{ overflow: 'auto', height: '100%' }} tabIndex={0} role="region" aria-label="panel values">
      {data.series.map((frame, fi) => {
        const rows = frame.length ?? frame.fields[0]?.values.length ?? 0;
        return (
          <table
            key={fi}
            data-testid={testid}
            data-frame={frame.name ?? frame.refId ?? String(fi)}
            data-executed={frame.meta?.executedQueryString ?? ''}
            style={{ borderCollapse: 'collapse' }}
          >
            {/* Grafana's table shows one frame without a name; several are told apart by it. */}
            {data.series.length > 1 && <caption style={{ textAlign: 'left' }}>{frame.name ?? frame.refId}</caption>}
            <thead>
              <tr>
                {frame.fields.map((f, i) => (
                  <th key={i} scope="col" data-unit={f.config.unit ?? ''} style={{ padding: theme.spacing(0.5) }}>
                    {fieldName(frame, i, data.series)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {Array.from({ length: rows }, (_, r) => (
                <tr key={r} data-testid={`${testid}-row`}>
                  {frame.fields.map((f, i) => {
                    const display = f.display ?? getDisplayProcessor({ field: f, theme });
                    const v = f.values[r];
                    return (
                      <td
                        key={i}
                        data-field={fieldName(frame, i, data.series)}
                        data-raw={v == null ? '' : String(v)}
                        style={{ padding: theme.spacing(0.5) }}
                      >
                        <Value text={formattedValueToString(display(v))} links={linksOf(f, r)} />
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        );
      })}
    </div>
  );
}

// The time of a field's last non-null value: what lastNotNull shows.
function lastNotNullTime(frame: DataFrame, values: unknown[]): number | undefined {
  const time = frame.fields.find((f) => f.type === 'time');
  for (let i = values.length - 1; i >= 0; i--) {
    if (values[i] != null) {
      return time?.values[i];
    }
  }
  return undefined;
}

function Stat(props: PanelProps<{ reduceOptions?: { calcs?: string[] } }>) {
  const theme = useTheme2();
  const calc = props.options.reduceOptions?.calcs?.[0] ?? 'lastNotNull';
  const values = props.data.series.flatMap((frame) =>
    frame.fields
      .filter((f) => f.type === 'number')
      .map((f, i) => {
        const v = reduceField({ field: f, reducers: [calc] })[calc];
        const display = f.display ?? getDisplayProcessor({ field: f, theme });
        return {
          name: fieldName(frame, frame.fields.indexOf(f), props.data.series) || String(i),
          raw: v,
          text: formattedValueToString(display(v)),
          time: calc === 'lastNotNull' ? lastNotNullTime(frame, f.values) : undefined,
          executed: frame.meta?.executedQueryString ?? '',
        };
      })
  );
  // What a test compares the value with: the query that made it, and when it was taken.
  return (
    <div>
      {values.map((v, i) => (
        <div
          key={i}
          data-testid="standin-stat"
          data-field={v.name}
          data-value={v.raw == null ? '' : String(v.raw)}
          data-time={v.time == null ? '' : String(v.time)}
          data-executed={v.executed}
          style={{ fontSize: theme.typography.h2.fontSize }}
        >
          {v.text}
        </div>
      ))}
    </div>
  );
}

// Lines of every number field over time, so that a screenshot reads like a
// graph; the values themselves are in the table under it.
function Lines({ data, width }: PanelProps) {
  const theme = useTheme2();
  const height = 90;
  const lines = data.series.flatMap((frame) => {
    const time = frame.fields.find((f) => f.type === 'time');
    return time ? frame.fields.filter((f) => f.type === 'number').map((f) => ({ time: time.values, f, frame })) : [];
  });
  const xs = lines.flatMap((l) => l.time as number[]);
  const ys = lines.flatMap((l) => (l.f.values as Array<number | null>).filter((v): v is number => v != null));
  if (!xs.length || !ys.length) {
    return null;
  }
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const y1 = Math.max(...ys, 0) || 1;
  const x = (t: number) => ((t - x0) / (x1 - x0 || 1)) * (width - 8) + 4;
  const y = (v: number) => height - 4 - (v / y1) * (height - 8);
  return (
    <svg width={width} height={height} role="img" aria-label="the values below, over time">
      {lines.map((l, i) => (
        <polyline
          key={i}
          fill="none"
          strokeWidth={1.5}
          stroke={theme.visualization.getColorByName(
            theme.visualization.palette[i % theme.visualization.palette.length]
          )}
          points={(l.f.values as Array<number | null>)
            .map((v, j) => (v == null ? '' : `${x(l.time[j])},${y(v)}`))
            .filter(Boolean)
            .join(' ')}
        >
          <title>{fieldName(l.frame, l.frame.fields.indexOf(l.f), data.series)}</title>
        </polyline>
      ))}
    </svg>
  );
}

function Series(props: PanelProps) {
  return (
    <div style={{ display: 'flex', flexDirection: 'column', height: '100%' }}>
      <Lines {...props} />
      <div style={{ flex: 1, minHeight: 0 }}>
        <FramesTable {...props} testid="standin-series" />
      </div>
    </div>
  );
}

const standins: Record<string, React.ComponentType<PanelProps<any>>> = {
  timeseries: Series,
  barchart: (p) => <FramesTable {...p} testid="standin-series" />,
  table: (p) => <FramesTable {...p} testid="standin-table" />,
  stat: Stat,
  text: (p) => <div>{String((p.options as { content?: string }).content ?? '')}</div>,
};

const cache = new Map<string, PanelPlugin>();

function standinMeta(id: string): PanelPluginMeta {
  return {
    id,
    name: `${id} (preview stand-in)`,
    type: 'panel',
    module: `core:plugin/${id}`,
    baseUrl: '',
    sort: 0,
    info: {
      author: { name: 'Netlens preview host' },
      description: '',
      links: [],
      logos: { small: '', large: '' },
      screenshots: [],
      updated: '',
      version: '',
    },
  } as unknown as PanelPluginMeta;
}

async function importPanelPlugin(id: string): Promise<PanelPlugin> {
  const cached = cache.get(id);
  if (cached) {
    return cached;
  }
  let plugin: PanelPlugin;
  const meta = config.panels[id];
  if (meta && !meta.module.startsWith('core:')) {
    const mod = await importPlugin(meta.module);
    plugin = mod.plugin as PanelPlugin;
    plugin.meta = { ...plugin.meta, ...meta };
  } else if (standins[id]) {
    // As Grafana's core panels do: the standard field options (unit,
    // decimals, links, ...) apply; without it a panel drops them all.
    plugin = new PanelPlugin(standins[id]).useFieldConfig();
    plugin.meta = standinMeta(id);
  } else {
    throw new Error(`panel ${id} is neither a plugin panel nor one the preview host stands in for`);
  }
  cache.set(id, plugin);
  return plugin;
}

export const pluginImportUtils = {
  importPanelPlugin,
  getPanelPluginFromCache: (id: string) => cache.get(id),
};

export const standinIds = Object.keys(standins);
