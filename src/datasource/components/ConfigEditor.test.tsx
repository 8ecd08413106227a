import React, { useState } from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { choose, enableComboboxMenus } from './testUtils';
import { NetlensOptions, NetlensSecureOptions } from '../types';

type Options = DataSourceSettings<NetlensOptions, NetlensSecureOptions>;

function settings(jsonData: NetlensOptions, extra: Partial<Options> = {}): Options {
  return {
    id: 1,
    uid: 'netlens',
    orgId: 1,
    name: 'Netlens',
    type: 'netlens-network-datasource',
    typeName: 'Netlens',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    withCredentials: false,
    readOnly: false,
    jsonData,
    secureJsonFields: {},
    ...extra,
  } as Options;
}

function setup(options: Options) {
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  return onOptionsChange;
}

describe('ConfigEditor', () => {
  it('defaults to prometheus mode and stores the URL in the instance URL', () => {
    const onChange = setup(settings({}));
    fireEvent.change(screen.getByLabelText(/^URL/), { target: { value: ' http://prometheus:9090 ' } });
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ url: 'http://prometheus:9090' }));
    expect(screen.queryByLabelText(/^Agent URLs/)).not.toBeInTheDocument();
  });

  it('switches to direct mode in jsonData', () => {
    const onChange = setup(settings({ mode: 'prometheus' }));
    fireEvent.click(screen.getByLabelText('Agents directly'));
    expect(onChange.mock.calls[0][0].jsonData.mode).toBe('direct');
  });

  it('keeps one agent URL per row, storing only non-empty trimmed ones', () => {
    const onChange = setup(settings({ mode: 'direct', agentUrls: ['http://10.0.0.4:10095'] }));
    expect(screen.getByLabelText('Agent URL 1')).toHaveValue('http://10.0.0.4:10095');
    fireEvent.click(screen.getByRole('button', { name: 'Add agent URL' }));
    // A new empty row is only local: nothing stored yet.
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.change(screen.getByLabelText('Agent URL 2'), { target: { value: '  http://10.0.0.5:10095  ' } });
    expect(onChange.mock.calls[0][0].jsonData.agentUrls).toEqual(['http://10.0.0.4:10095', 'http://10.0.0.5:10095']);
    fireEvent.click(screen.getByRole('button', { name: 'Remove agent URL 1' }));
    expect(onChange.mock.calls[1][0].jsonData.agentUrls).toEqual(['http://10.0.0.5:10095']);
  });

  it('round-trips the agent DNS name and timeout', () => {
    const onChange = setup(settings({ mode: 'direct', agentDnsName: 'a.b', timeoutSeconds: 10 }));
    expect(screen.getByLabelText(/Agent DNS name/)).toHaveValue('a.b');
    expect(screen.getByLabelText(/Timeout/)).toHaveValue(10);
    fireEvent.change(screen.getByLabelText(/Timeout/), { target: { value: '25' } });
    expect(onChange.mock.calls[0][0].jsonData.timeoutSeconds).toBe(25);
  });

  it('writes a new secret only into secureJsonData', () => {
    const onChange = setup(settings({ mode: 'direct' }));
    fireEvent.change(screen.getByLabelText(/Agent token/), { target: { value: 'tok-123' } });
    const next: Options = onChange.mock.calls[0][0];
    expect(next.secureJsonData).toEqual({ agentToken: 'tok-123' });
    expect(JSON.stringify(next.jsonData)).not.toContain('tok-123');
  });

  it('shows a saved secret as configured without its value, and resets it', () => {
    const onChange = setup(
      settings({ mode: 'prometheus', prometheusAuth: 'bearer' }, { secureJsonFields: { bearerToken: true } })
    );
    const input = screen.getByLabelText('Bearer token');
    expect(input).toHaveValue('configured');
    expect(input).toBeDisabled();
    fireEvent.click(screen.getByRole('button', { name: /reset/i }));
    const next: Options = onChange.mock.calls[0][0];
    expect(next.secureJsonFields.bearerToken).toBe(false);
    expect(next.secureJsonData).toEqual({ bearerToken: '' });
  });

  it('asks for Azure app registration fields only when chosen', () => {
    setup(settings({ prometheusAuth: 'azure', azureCredentials: { authType: 'msi' } }));
    expect(screen.queryByLabelText('Tenant ID')).not.toBeInTheDocument();
  });

  it('round-trips Azure client-secret settings', () => {
    const onChange = setup(
      settings(
        { prometheusAuth: 'azure', azureCredentials: { authType: 'clientsecret', tenantId: 't', clientId: 'c' } },
        { secureJsonFields: { azureClientSecret: true } }
      )
    );
    expect(screen.getByLabelText('Tenant ID')).toHaveValue('t');
    expect(screen.getByLabelText('Client ID')).toHaveValue('c');
    expect(screen.getByLabelText('Client secret')).toHaveValue('configured');
    fireEvent.change(screen.getByLabelText('Client ID'), { target: { value: 'c2' } });
    expect(onChange.mock.calls[0][0].jsonData.azureCredentials).toEqual({
      authType: 'clientsecret',
      tenantId: 't',
      clientId: 'c2',
    });
  });

  it('explains the retina schema limits when it is chosen', () => {
    const onChange = setup(settings({}));
    expect(screen.queryByText(/cannot show/)).not.toBeInTheDocument();
    fireEvent.click(screen.getByLabelText('AKS Network Observability'));
    expect(onChange.mock.calls[0][0].jsonData.schema).toBe('retina');
  });

  it('lists the retina schema limits', () => {
    setup(settings({ schema: 'retina' }));
    expect(screen.getByText(/No drop location/)).toBeInTheDocument();
    expect(screen.getByText(/No per-interface or per-queue NIC counters/)).toBeInTheDocument();
    expect(screen.getByText(/Pod drops only when the add-on.s advanced/)).toBeInTheDocument();
    expect(screen.getByText(/No softnet or conntrack counters/)).toBeInTheDocument();
  });
});

// Grafana keeps the options and hands them back after each change: this
// harness does the same, so a sequence of edits can be checked end to end.
function Harness({ initial, onSaved }: { initial: Options; onSaved: (o: Options) => void }) {
  const [options, setOptions] = useState(initial);
  return (
    <ConfigEditor
      options={options}
      onOptionsChange={(o) => {
        setOptions(o);
        onSaved(o);
      }}
    />
  );
}

function renderHarness(initial: Options) {
  let last: Options = initial;
  const utils = render(<Harness initial={initial} onSaved={(o) => (last = o)} />);
  return { ...utils, latest: () => last };
}

enableComboboxMenus();

describe('ConfigEditor round trip', () => {
  it('edits every prometheus-mode setting into jsonData, the URL and secureJsonData', () => {
    const { latest } = renderHarness(settings({}));
    fireEvent.click(screen.getByLabelText('AKS Network Observability'));
    fireEvent.change(screen.getByLabelText(/^Timeout/), { target: { value: '30' } });
    fireEvent.change(screen.getByLabelText(/^URL/), {
      target: { value: 'https://ws.eastus.prometheus.monitor.azure.com' },
    });
    fireEvent.change(screen.getByLabelText(/^Scrape interval/), { target: { value: '30' } });
    choose('Authentication', /Azure AD/);
    // Managed identity first, with an optional user-assigned client ID.
    expect(screen.queryByLabelText('Tenant ID')).not.toBeInTheDocument();
    expect(latest().jsonData.azureCredentials).toEqual({ authType: 'msi' });
    fireEvent.change(screen.getByLabelText(/^Managed identity client ID/), { target: { value: 'uami-1' } });
    expect(latest().jsonData.azureCredentials).toEqual({ authType: 'msi', clientId: 'uami-1' });
    // Then an app registration: the managed identity's client ID does not carry over.
    choose(/^Azure credentials/, /App registration/);
    expect(latest().jsonData.azureCredentials).toEqual({ authType: 'clientsecret' });
    fireEvent.change(screen.getByLabelText('Tenant ID'), { target: { value: 'tenant-1' } });
    fireEvent.change(screen.getByLabelText('Client ID'), { target: { value: 'client-1' } });
    fireEvent.change(screen.getByLabelText('Client secret'), { target: { value: 'az-secret' } });

    const saved = latest();
    expect(saved.url).toBe('https://ws.eastus.prometheus.monitor.azure.com');
    expect(saved.basicAuth).toBe(false);
    expect(saved.jsonData).toEqual({
      schema: 'retina',
      timeoutSeconds: 30,
      scrapeIntervalSeconds: 30,
      prometheusAuth: 'azure',
      azureCredentials: { authType: 'clientsecret', tenantId: 'tenant-1', clientId: 'client-1' },
    });
    expect(saved.secureJsonData).toEqual({ azureClientSecret: 'az-secret' });
    expect(JSON.stringify(saved.jsonData)).not.toContain('az-secret');
  });

  it('edits basic and bearer auth', () => {
    const { latest } = renderHarness(settings({}, { url: 'http://p:9090' }));
    choose('Authentication', 'Basic authentication');
    expect(latest().basicAuth).toBe(true);
    expect(screen.queryByLabelText('Tenant ID')).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('User'), { target: { value: 'grafana' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'pw-1' } });
    expect(latest()).toEqual(
      expect.objectContaining({
        basicAuth: true,
        basicAuthUser: 'grafana',
        secureJsonData: { basicAuthPassword: 'pw-1' },
      })
    );
    expect(latest().jsonData.prometheusAuth).toBe('basic');

    choose('Authentication', 'Bearer token');
    expect(latest().basicAuth).toBe(false);
    expect(screen.queryByLabelText('Password')).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Bearer token'), { target: { value: 'bt-1' } });
    expect(latest().jsonData.prometheusAuth).toBe('bearer');
    expect(latest().secureJsonData).toEqual({ basicAuthPassword: 'pw-1', bearerToken: 'bt-1' });
  });

  it('reads Grafana basic auth toggle as basic auth, like the backend', () => {
    renderHarness(settings({}, { basicAuth: true, basicAuthUser: 'u' }));
    expect(screen.getByLabelText('User')).toHaveValue('u');
  });

  it('edits every direct-mode setting', () => {
    const { latest } = renderHarness(settings({}));
    fireEvent.click(screen.getByLabelText('Agents directly'));
    expect(screen.queryByLabelText(/^URL/)).not.toBeInTheDocument();
    expect(screen.queryByLabelText(/^Scrape interval/)).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Agent URL 1'), { target: { value: 'http://10.0.0.4:10095' } });
    fireEvent.click(screen.getByRole('button', { name: 'Add agent URL' }));
    fireEvent.change(screen.getByLabelText('Agent URL 2'), { target: { value: 'https://node-1:10095' } });
    fireEvent.change(screen.getByLabelText(/^Agent DNS name/), {
      target: { value: ' _http._tcp.netlens-agent.netlens.svc.cluster.local ' },
    });
    fireEvent.change(screen.getByLabelText(/^Agent token/), { target: { value: 'agent-tok' } });
    fireEvent.change(screen.getByLabelText(/^Timeout/), { target: { value: '5' } });
    expect(latest().jsonData).toEqual({
      mode: 'direct',
      agentUrls: ['http://10.0.0.4:10095', 'https://node-1:10095'],
      agentDnsName: '_http._tcp.netlens-agent.netlens.svc.cluster.local',
      timeoutSeconds: 5,
    });
    expect(latest().secureJsonData).toEqual({ agentToken: 'agent-tok' });
    // Clearing a number leaves the backend's default.
    fireEvent.change(screen.getByLabelText(/^Timeout/), { target: { value: '' } });
    expect(latest().jsonData.timeoutSeconds).toBeUndefined();
  });

  it('flags out-of-range numbers', () => {
    renderHarness(settings({ timeoutSeconds: 301, scrapeIntervalSeconds: 0 }));
    expect(screen.getByText('Choose 1 to 300 seconds')).toBeInTheDocument();
    expect(screen.getByText('Choose at least 1 second')).toBeInTheDocument();
  });

  it('never renders a saved secret, and renders typed ones as password fields', () => {
    const secrets = ['basicAuthPassword', 'bearerToken', 'azureClientSecret', 'agentToken'] as const;
    const configured = Object.fromEntries(secrets.map((k) => [k, true]));
    // Even if a secret value were ever present in the options, a configured secret shows only "configured".
    const leaked = Object.fromEntries(secrets.map((k) => [k, `LEAK-${k}`]));
    const cases: Array<[NetlensOptions, string]> = [
      [{ prometheusAuth: 'basic' }, 'Password'],
      [{ prometheusAuth: 'bearer' }, 'Bearer token'],
      [{ prometheusAuth: 'azure', azureCredentials: { authType: 'clientsecret' } }, 'Client secret'],
      [{ mode: 'direct' }, 'Agent token'],
    ];
    for (const [jsonData, label] of cases) {
      const { container, unmount } = render(
        <ConfigEditor
          options={settings(jsonData, { secureJsonFields: configured, secureJsonData: leaked })}
          onOptionsChange={jest.fn()}
        />
      );
      const input = screen.getByLabelText(new RegExp(`^${label}`));
      expect(input).toHaveValue('configured');
      expect(input).toBeDisabled();
      expect(container.innerHTML).not.toContain('LEAK-');
      unmount();
    }
    for (const [jsonData, label] of cases) {
      const { unmount } = render(
        <ConfigEditor options={settings(jsonData, { secureJsonData: leaked })} onOptionsChange={jest.fn()} />
      );
      expect(screen.getByLabelText(new RegExp(`^${label}`))).toHaveAttribute('type', 'password');
      unmount();
    }
  });
});
