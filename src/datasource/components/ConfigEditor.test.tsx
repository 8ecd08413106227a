import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
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

  it('keeps one agent URL per non-empty line', () => {
    const onChange = setup(settings({ mode: 'direct' }));
    fireEvent.change(screen.getByLabelText(/^Agent URLs/), {
      target: { value: 'http://10.0.0.4:10095\n\n  http://10.0.0.5:10095  \n' },
    });
    expect(onChange.mock.calls[0][0].jsonData.agentUrls).toEqual(['http://10.0.0.4:10095', 'http://10.0.0.5:10095']);
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
});
