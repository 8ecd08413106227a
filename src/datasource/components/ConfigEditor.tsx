import React, { ChangeEvent } from 'react';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import { Combobox, ComboboxOption, Field, FieldSet, Input, RadioButtonGroup, SecretInput, TextArea } from '@grafana/ui';

import { Mode, NetlensOptions, NetlensSecureOptions, PrometheusAuth, Schema } from '../types';

type Props = DataSourcePluginOptionsEditorProps<NetlensOptions, NetlensSecureOptions>;

const MODES: Array<SelectableValue<Mode>> = [
  {
    value: 'prometheus',
    label: 'Prometheus',
    description: 'Query the agents’ metrics in any Prometheus-compatible store',
  },
  { value: 'direct', label: 'Agents directly', description: 'Ask the agents themselves; no Prometheus needed' },
];

const SCHEMAS: Array<SelectableValue<Schema>> = [
  { value: 'netlens', label: 'Netlens' },
  { value: 'retina', label: 'AKS Network Observability' },
];

const AUTHS: Array<ComboboxOption<PrometheusAuth>> = [
  { value: 'none', label: 'No authentication' },
  { value: 'basic', label: 'Basic authentication' },
  { value: 'bearer', label: 'Bearer token' },
  { value: 'azure', label: 'Azure AD (Azure Monitor managed Prometheus)' },
];

const AZURE_AUTHS: Array<ComboboxOption<'msi' | 'clientsecret'>> = [
  { value: 'msi', label: 'Managed identity' },
  { value: 'clientsecret', label: 'App registration (client secret)' },
];

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData;
  const mode = jsonData.mode ?? 'prometheus';
  const auth = jsonData.prometheusAuth ?? 'none';

  const setJsonData = (patch: Partial<NetlensOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  // Secrets are write-only: the browser only learns whether one is set.
  const secret = (key: keyof NetlensSecureOptions) => ({
    isConfigured: Boolean(options.secureJsonFields?.[key]),
    value: options.secureJsonData?.[key] ?? '',
    onChange: (e: ChangeEvent<HTMLInputElement>) =>
      onOptionsChange({ ...options, secureJsonData: { ...options.secureJsonData, [key]: e.currentTarget.value } }),
    onReset: () =>
      onOptionsChange({
        ...options,
        secureJsonFields: { ...options.secureJsonFields, [key]: false },
        secureJsonData: { ...options.secureJsonData, [key]: '' },
      }),
  });

  const azureIdInput = (key: 'tenantId' | 'clientId', id: string) => (
    <Input
      id={id}
      width={40}
      value={jsonData.azureCredentials?.[key] ?? ''}
      onChange={(e) =>
        setJsonData({
          azureCredentials: {
            authType: 'clientsecret',
            ...jsonData.azureCredentials,
            [key]: e.currentTarget.value.trim(),
          },
        })
      }
    />
  );

  return (
    <>
      <FieldSet label="Source">
        <Field label="Read from" description={MODES.find((m) => m.value === mode)?.description}>
          <RadioButtonGroup options={MODES} value={mode} onChange={(v) => setJsonData({ mode: v })} />
        </Field>
        <Field
          label="Metric schema"
          description="AKS Network Observability exports networkobservability_* metrics: fewer drop reasons and no kernel location."
        >
          <RadioButtonGroup
            options={SCHEMAS}
            value={jsonData.schema ?? 'netlens'}
            onChange={(v) => setJsonData({ schema: v })}
          />
        </Field>
        <Field label="Timeout (seconds)" description="For each request to Prometheus or to one agent">
          <Input
            id="netlens-timeout"
            type="number"
            min={1}
            max={300}
            width={10}
            value={jsonData.timeoutSeconds ?? ''}
            placeholder="10"
            onChange={(e) => {
              const n = parseInt(e.currentTarget.value, 10);
              setJsonData({ timeoutSeconds: Number.isNaN(n) ? undefined : n });
            }}
          />
        </Field>
      </FieldSet>

      {mode === 'prometheus' && (
        <FieldSet label="Prometheus">
          <Field
            label="URL"
            description="Prometheus, Thanos, Mimir or an Azure Monitor workspace query endpoint"
            required
          >
            <Input
              id="netlens-prometheus-url"
              width={60}
              value={options.url}
              placeholder="http://prometheus:9090"
              onChange={(e) => onOptionsChange({ ...options, url: e.currentTarget.value.trim() })}
            />
          </Field>
          <Field label="Authentication">
            <Combobox
              id="netlens-prometheus-auth"
              width={60}
              options={AUTHS}
              value={auth}
              onChange={(v) => {
                const next = v.value;
                onOptionsChange({
                  ...options,
                  basicAuth: next === 'basic',
                  jsonData: { ...jsonData, prometheusAuth: next },
                });
              }}
            />
          </Field>
          {auth === 'basic' && (
            <>
              <Field label="User">
                <Input
                  id="netlens-basic-user"
                  width={40}
                  value={options.basicAuthUser}
                  onChange={(e) => onOptionsChange({ ...options, basicAuthUser: e.currentTarget.value })}
                />
              </Field>
              <Field label="Password">
                <SecretInput id="netlens-basic-password" width={40} {...secret('basicAuthPassword')} />
              </Field>
            </>
          )}
          {auth === 'bearer' && (
            <Field label="Bearer token">
              <SecretInput id="netlens-bearer-token" width={60} {...secret('bearerToken')} />
            </Field>
          )}
          {auth === 'azure' && (
            <>
              <Field label="Azure credentials">
                <Combobox
                  id="netlens-azure-auth"
                  width={40}
                  options={AZURE_AUTHS}
                  value={jsonData.azureCredentials?.authType ?? 'msi'}
                  onChange={(v) =>
                    setJsonData({ azureCredentials: { ...jsonData.azureCredentials, authType: v.value } })
                  }
                />
              </Field>
              {jsonData.azureCredentials?.authType === 'clientsecret' && (
                <>
                  <Field label="Tenant ID">{azureIdInput('tenantId', 'netlens-azure-tenant')}</Field>
                  <Field label="Client ID">{azureIdInput('clientId', 'netlens-azure-client')}</Field>
                  <Field label="Client secret">
                    <SecretInput id="netlens-azure-secret" width={40} {...secret('azureClientSecret')} />
                  </Field>
                </>
              )}
            </>
          )}
        </FieldSet>
      )}

      {mode === 'direct' && (
        <FieldSet label="Agents">
          <Field label="Agent URLs" description="One per line, e.g. http://10.0.0.4:10095">
            <TextArea
              id="netlens-agent-urls"
              rows={4}
              value={(jsonData.agentUrls ?? []).join('\n')}
              onChange={(e) =>
                setJsonData({
                  agentUrls: e.currentTarget.value
                    .split('\n')
                    .map((s) => s.trim())
                    .filter(Boolean),
                })
              }
            />
          </Field>
          <Field
            label="Agent DNS name"
            description="A name whose A/AAAA or SRV records are the agents, e.g. the chart's headless Service"
          >
            <Input
              id="netlens-agent-dns"
              width={60}
              value={jsonData.agentDnsName ?? ''}
              placeholder="netlens-agent.netlens.svc.cluster.local"
              onChange={(e) => setJsonData({ agentDnsName: e.currentTarget.value.trim() })}
            />
          </Field>
          <Field label="Agent token" description="Bearer token the agents require, if any">
            <SecretInput id="netlens-agent-token" width={60} {...secret('agentToken')} />
          </Field>
        </FieldSet>
      )}
    </>
  );
}
