import React from 'react';
import { render, screen, within } from '@testing-library/react';

import { ReasonsExplained, testIds } from './ReasonsExplained';
import { reasonsInData } from './catalog';
import { CATALOG, dropSeries, GENERIC } from './fixtures';

describe('ReasonsExplained', () => {
  it("explains each reason in the data with the catalog's meaning, cause and checks", () => {
    const reasons = reasonsInData([dropSeries('NO_SOCKET', [0, 2.5]), dropSeries('NETFILTER_DROP', [1, 12])]);
    render(<ReasonsExplained reasons={reasons} catalog={CATALOG} />);

    const region = screen.getByRole('region', { name: 'Drop reasons explained' });
    const items = within(region).getAllByRole('listitem', { name: /_/ });
    expect(items.map((li) => within(li).getByRole('heading').textContent)).toEqual(['NETFILTER_DROP', 'NO_SOCKET']);

    const noSocket = screen.getByRole('listitem', { name: 'NO_SOCKET' });
    expect(within(noSocket).getByText(CATALOG[0].meaning)).toBeInTheDocument();
    expect(within(noSocket).getByText(CATALOG[0].cause)).toBeInTheDocument();
    expect(within(noSocket).getByText('What to check')).toBeInTheDocument();
    // Commands in backticks are shown as code.
    expect(within(noSocket).getByText('kubectl exec <pod> -- ss -lntu').tagName).toBe('CODE');
    expect(within(noSocket).getByText(/2.50 p\/s now, peak 2.50 p\/s/)).toBeInTheDocument();

    const netfilter = screen.getByRole('listitem', { name: 'NETFILTER_DROP' });
    expect(within(netfilter).getByText('Check the NetworkPolicies of the namespace.')).toBeInTheDocument();
  });

  it("explains a reason the catalog lacks with the backend's generic explanation, marked as generic", () => {
    render(
      <ReasonsExplained
        reasons={[
          { reason: 'BRAND_NEW', latest: 1, peak: 1 },
          { reason: 'NO_SOCKET', latest: 1, peak: 1 },
        ]}
        catalog={[...CATALOG, GENERIC]}
      />
    );
    const item = screen.getByRole('listitem', { name: 'BRAND_NEW' });
    expect(within(item).getByTestId(testIds.generic)).toHaveTextContent('not in the Netlens reason catalog');
    expect(within(item).getByText(GENERIC.meaning)).toBeInTheDocument();
    expect(within(item).getByText(GENERIC.cause)).toBeInTheDocument();
    expect(within(item).getByText(/rate\(netlens_drop_packets_total/).tagName).toBe('CODE');
    // Catalog entries are not marked.
    expect(within(screen.getByRole('listitem', { name: 'NO_SOCKET' })).queryByTestId(testIds.generic)).toBeNull();
  });

  it('shows no explanation of its own while a reason has none yet', () => {
    render(<ReasonsExplained reasons={[{ reason: 'BRAND_NEW', latest: 1, peak: 1 }]} catalog={CATALOG} loading />);
    const item = screen.getByRole('listitem', { name: 'BRAND_NEW' });
    expect(within(item).queryByRole('definition')).toBeNull();
    expect(within(item).queryByTestId(testIds.generic)).toBeNull();
  });

  it('shows loading, empty and error states', () => {
    const { rerender } = render(<ReasonsExplained reasons={[]} loading />);
    expect(screen.getByText('Loading drop reasons')).toBeInTheDocument();

    rerender(<ReasonsExplained reasons={[]} catalog={CATALOG} />);
    expect(screen.getByTestId(testIds.none)).toHaveTextContent('No packet drops in this time range.');

    rerender(
      <ReasonsExplained reasons={[{ reason: 'NO_SOCKET', latest: 1, peak: 1 }]} error="Reason catalog: HTTP 502" />
    );
    expect(screen.getByText('Drop reasons could not be explained')).toBeInTheDocument();
    expect(screen.getByText('Reason catalog: HTTP 502')).toBeInTheDocument();
    // The reasons are still listed without their explanations.
    expect(screen.getByRole('heading', { name: 'NO_SOCKET' })).toBeInTheDocument();
  });
});
