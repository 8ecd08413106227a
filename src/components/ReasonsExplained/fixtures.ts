import { createDataFrame, DataFrame, FieldType } from '@grafana/data';

import { ReasonEntry } from './catalog';

/** Two entries as the data source's /reasons resource returns them (agent/reasons/catalog.yaml). */
export const CATALOG: ReasonEntry[] = [
  {
    reason: 'NO_SOCKET',
    meaning: 'No socket wanted the packet: nothing listens on the destination port.',
    cause: 'Service targetPort not matching the container port.',
    check: ['Is a pod listening on the destination port and address? `kubectl exec <pod> -- ss -lntu`.'],
  },
  {
    reason: 'NETFILTER_DROP',
    meaning: 'An iptables or nftables rule dropped the packet.',
    cause: 'A NetworkPolicy or a firewall rule.',
    check: ['List the rules: `iptables-save -c`.', 'Check the NetworkPolicies of the namespace.'],
  },
];

/**
 * The generic explanation of a reason the catalog lacks, as /reasons?reason=BRAND_NEW
 * returns it (agent/reasons Generic).
 */
export const GENERIC: ReasonEntry = {
  reason: 'BRAND_NEW',
  generic: true,
  meaning: 'The kernel dropped packets with reason BRAND_NEW, which is not in the catalog of this Netlens version.',
  cause: 'Unknown to this catalog.',
  check: ['Where it drops: `sum by (location) (rate(netlens_drop_packets_total{reason="BRAND_NEW"}[5m]))`.'],
};

/** One series of a drops query grouped by reason, as the backend frames it. */
export function dropSeries(
  reason: string,
  values: Array<number | null>,
  labels: Record<string, string> = {}
): DataFrame {
  return createDataFrame({
    fields: [
      { name: 'Time', type: FieldType.time, values: values.map((_, i) => 1_700_000_000_000 + i * 60_000) },
      { name: 'Value', type: FieldType.number, values, labels: { reason, ...labels } },
    ],
  });
}
