import React, { useEffect, useState } from 'react';
import { css } from '@emotion/css';
import { formattedValueToString, getValueFormat, GrafanaTheme2 } from '@grafana/data';
import { Alert, LoadingPlaceholder, useStyles2 } from '@grafana/ui';

import { errorMessage } from '../../errors';
import { fetchReasonCatalog, fetchReasonExplanations, ReasonEntry, ReasonRate } from './catalog';

export const testIds = {
  list: 'netlens-reasons-list',
  none: 'netlens-reasons-none',
  generic: 'netlens-reasons-generic',
};

export interface ReasonsExplainedProps {
  /** The reasons dropping in the current data (reasonsInData). */
  reasons: ReasonRate[];
  /**
   * The data source's explanations of the reasons: its catalog plus the generic
   * entries of reasons the catalog lacks (useReasonCatalog); undefined while it
   * loads or when it failed.
   */
  catalog?: ReasonEntry[];
  /** The drops query or the catalog is still loading. */
  loading?: boolean;
  /** Why the drops or the catalog could not be loaded. */
  error?: string;
  /** Unit of the rates, as Grafana names it (pps for packets, Bps for bytes). */
  unit?: string;
  /** Where to see a reason's drops in detail (the app's Drops page filtered by it); no link when absent. */
  reasonHref?: (reason: string) => string;
}

/**
 * Lists the reasons currently dropping packets, each with the catalog's meaning,
 * likely cause and checks; a reason the catalog lacks with the backend's
 * generic explanation, marked as such.
 */
export function ReasonsExplained({
  reasons,
  catalog,
  loading,
  error,
  unit = 'pps',
  reasonHref,
}: ReasonsExplainedProps) {
  const styles = useStyles2(getStyles);
  const byName = new Map((catalog ?? []).map((e) => [e.reason, e]));
  const format = getValueFormat(unit);
  const rate = (v: number) => formattedValueToString(format(v, 2));

  return (
    <section aria-label="Drop reasons explained" className={styles.container}>
      {error && (
        <Alert severity="error" title="Drop reasons could not be explained">
          {error}
        </Alert>
      )}
      {loading && reasons.length === 0 ? (
        <LoadingPlaceholder text="Loading drop reasons" />
      ) : reasons.length === 0 ? (
        !error && (
          <p className={styles.none} data-testid={testIds.none}>
            No packet drops in this time range.
          </p>
        )
      ) : (
        <ul className={styles.list} data-testid={testIds.list}>
          {reasons.map(({ reason, latest, peak }) => {
            const entry = byName.get(reason);
            const headingId = `netlens-reason-${reason}`;
            return (
              <li key={reason} className={styles.item} aria-labelledby={headingId}>
                <div className={styles.header}>
                  <h4 id={headingId} className={styles.reason}>
                    {reason}
                  </h4>
                  <span className={styles.rate}>
                    {rate(latest)} now, peak {rate(peak)}
                    {reasonHref && (
                      <>
                        {' · '}
                        <a href={reasonHref(reason)} aria-label={`where it drops: ${reason}`} className={styles.link}>
                          where it drops
                        </a>
                      </>
                    )}
                  </span>
                </div>
                {entry?.generic && (
                  <p className={styles.generic} data-testid={testIds.generic}>
                    Generic explanation: not in the Netlens reason catalog
                  </p>
                )}
                {entry && (
                  <dl className={styles.details}>
                    <dt>Meaning</dt>
                    <dd>
                      <Text text={entry.meaning} />
                    </dd>
                    <dt>Likely cause</dt>
                    <dd>
                      <Text text={entry.cause} />
                    </dd>
                    {entry.check.length > 0 && (
                      <>
                        <dt>What to check</dt>
                        <dd>
                          <ul className={styles.checks}>
                            {entry.check.map((c) => (
                              <li key={c}>
                                <Text text={c} />
                              </li>
                            ))}
                          </ul>
                        </dd>
                      </>
                    )}
                  </dl>
                )}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Catalog text with `backticked` commands shown as code. */
function Text({ text }: { text: string }) {
  return (
    <>
      {text
        .split('`')
        .map((part, i) =>
          i % 2 === 1 ? <code key={i}>{part}</code> : <React.Fragment key={i}>{part}</React.Fragment>
        )}
    </>
  );
}

/**
 * The explanations of the given reasons from a data source: its reason catalog,
 * plus, for reasons the catalog lacks (a kernel newer than the catalog), the
 * backend's generic explanation; with loading and error states.
 */
export function useReasonCatalog(dataSourceUid: string | undefined, reasons: string[]) {
  const [state, setState] = useState<{ uid?: string; catalog?: ReasonEntry[]; error?: string }>({});
  useEffect(() => {
    if (!dataSourceUid) {
      return;
    }
    let current = true;
    fetchReasonCatalog(dataSourceUid).then(
      (catalog) => current && setState({ uid: dataSourceUid, catalog }),
      (e) => current && setState({ uid: dataSourceUid, error: `Reason catalog: ${errorMessage(e)}` })
    );
    return () => {
      current = false;
    };
  }, [dataSourceUid]);
  const fresh = state.uid === dataSourceUid;
  const catalog = fresh ? state.catalog : undefined;

  // The reasons the catalog lacks, as one string so that the effect runs when they change.
  const lacking = catalog
    ? [...new Set(reasons)]
        .filter((r) => !catalog.some((e) => e.reason === r))
        .sort()
        .join(',')
    : '';
  const [generic, setGeneric] = useState<{ key?: string; entries?: ReasonEntry[]; error?: string }>({});
  useEffect(() => {
    if (!dataSourceUid || !lacking) {
      return;
    }
    const key = `${dataSourceUid}/${lacking}`;
    let current = true;
    fetchReasonExplanations(dataSourceUid, lacking.split(',')).then(
      (entries) => current && setGeneric({ key, entries }),
      (e) => current && setGeneric({ key, error: `Reason explanations: ${errorMessage(e)}` })
    );
    return () => {
      current = false;
    };
  }, [dataSourceUid, lacking]);
  const genericFresh = lacking !== '' && generic.key === `${dataSourceUid}/${lacking}`;

  return {
    catalog: catalog && genericFresh && generic.entries ? [...catalog, ...generic.entries] : catalog,
    error: fresh && state.error ? state.error : genericFresh ? generic.error : undefined,
    loading: Boolean(dataSourceUid) && (!fresh || (lacking !== '' && !genericFresh)),
  };
}

const getStyles = (theme: GrafanaTheme2) => ({
  container: css({
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
  }),
  list: css({
    listStyle: 'none',
    margin: 0,
    padding: 0,
    display: 'flex',
    flexDirection: 'column',
    gap: theme.spacing(1),
  }),
  item: css({
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.secondary,
    padding: theme.spacing(1, 2),
  }),
  header: css({
    display: 'flex',
    flexWrap: 'wrap',
    alignItems: 'baseline',
    justifyContent: 'space-between',
    gap: theme.spacing(1),
  }),
  reason: css({
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.h5.fontSize,
    margin: 0,
  }),
  rate: css({
    color: theme.colors.text.secondary,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  // Underlined: within a line of text, colour alone does not mark a link.
  link: css({
    color: theme.colors.text.link,
    textDecoration: 'underline',
  }),
  details: css({
    margin: theme.spacing(1, 0, 0),
    dt: {
      color: theme.colors.text.secondary,
      fontSize: theme.typography.bodySmall.fontSize,
      fontWeight: theme.typography.fontWeightMedium,
    },
    dd: {
      margin: theme.spacing(0, 0, 1),
    },
  }),
  checks: css({
    margin: 0,
    paddingLeft: theme.spacing(2),
  }),
  none: css({
    color: theme.colors.text.secondary,
    margin: 0,
  }),
  generic: css({
    color: theme.colors.warning.text,
    fontSize: theme.typography.bodySmall.fontSize,
    margin: theme.spacing(1, 0, 0),
  }),
});
