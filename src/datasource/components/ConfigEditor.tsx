import React, { ChangeEvent, useState } from 'react';
import { DataSourcePluginOptionsEditorProps, SelectableValue } from '@grafana/data';
import {
  Alert,
  Button,
  Combobox,
  ComboboxOption,
  Field,
  FieldSet,
  IconButton,
  Input,
  RadioButtonGroup,
  SecretInput,
  Stack,
} from '@grafana/ui';

import { AzureCredentials, Mode, NetlensOptions, NetlensSecureOptions, PrometheusAuth, Schema } from '../types';

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

const AZURE_AUTHS: Array<ComboboxOption<AzureCredentials['authType']>> = [
  { value: 'msi', label: 'Managed identity' },
  { value: 'clientsecret', label: 'App registration (client secret)' },
];

/** Parses a whole number of seconds; empty or invalid leaves the setting unset (the backend's default). */
function seconds(text: string): number | undefined {
  const n = parseInt(text, 10);
  return Number.isNaN(n) ? undefined : n;
}

export function ConfigEditor({ options, onOptionsChange }: Props) {
  const jsonData = options.jsonData;
  const mode = jsonData.mode ?? 'prometheus';
  const schema = jsonData.schema ?? 'netlens';
  const auth = jsonData.prometheusAuth ?? (options.basicAuth ? 'basic' : 'none');
  const azure = jsonData.azureCredentials;

  const setJsonData = (patch: Partial<NetlensOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  // Secrets are write-only: the browser only learns whether one is set, and
  // what is typed here goes to secureJsonData alone.
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

  const azureIdInput = (key: 'tenantId' | 'clientId', id: string, placeholder?: string) => (
    <Input
      id={id}
      width={40}
      value={azure?.[key] ?? ''}
      placeholder={placeholder}
      onChange={(e) =>
        setJsonData({
          azureCredentials: {
            authType: azure?.authType ?? 'msi',
            ...azure,
            [key]: e.currentTarget.value.trim() || undefined,
          },
        })
      }
    />
  );

  const timeout = jsonData.timeoutSeconds;
  const timeoutInvalid = timeout !== undefined && (timeout < 1 || timeout > 300);
  const scrape = jsonData.scrapeIntervalSeconds;
  const scrapeInvalid = scrape !== undefined && scrape < 1;

  return (
    <>
      <FieldSet label="Source">
        <Field label="Read from" description={MODES.find((m) => m.value === mode)?.description} useFieldset>
          <RadioButtonGroup
            aria-label="Read from"
            options={MODES}
            value={mode}
            onChange={(v) => setJsonData({ mode: v })}
          />
        </Field>
        <Field
          label="Metric schema"
          description="Netlens: the agents' netlens_* metrics. AKS Network Observability: the managed add-on's networkobservability_* metrics, for clusters without Netlens agents."
          useFieldset
        >
          <RadioButtonGroup
            aria-label="Metric schema"
            options={SCHEMAS}
            value={schema}
            onChange={(v) => setJsonData({ schema: v })}
          />
        </Field>
        {schema === 'retina' && (
          <Alert severity="info" title="What the AKS Network Observability metrics cannot show">
            <ul>
              <li>
                No drop location (kernel function) or protocol; only the add-on&apos;s netfilter and TCP drop reasons.
              </li>
              <li>No per-interface or per-queue NIC counters, no Rx cache full or receive-buffer exhaustion.</li>
              <li>Pod drops only when the add-on&apos;s advanced (pod-level) metrics are enabled.</li>
              <li>No softnet or conntrack counters; no agent version, kernel or drop source.</li>
            </ul>
            Panels say so in a notice when a query asks for something the schema lacks.
          </Alert>
        )}
        <Field
          label="Timeout (seconds)"
          description="For each request to Prometheus or to one agent: 1 to 300 (default 10)"
          invalid={timeoutInvalid}
          error={timeoutInvalid ? 'Choose 1 to 300 seconds' : undefined}
        >
          <Input
            id="netlens-timeout"
            type="number"
            min={1}
            max={300}
            width={10}
            value={timeout ?? ''}
            placeholder="10"
            onChange={(e) => setJsonData({ timeoutSeconds: seconds(e.currentTarget.value) })}
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
          <Field
            label="Scrape interval (seconds)"
            description="How often Prometheus scrapes the agents: the minimum step and the base of the rate window (default 15)"
            invalid={scrapeInvalid}
            error={scrapeInvalid ? 'Choose at least 1 second' : undefined}
          >
            <Input
              id="netlens-scrape-interval"
              type="number"
              min={1}
              width={10}
              value={scrape ?? ''}
              placeholder="15"
              onChange={(e) => setJsonData({ scrapeIntervalSeconds: seconds(e.currentTarget.value) })}
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
                  jsonData: {
                    ...jsonData,
                    prometheusAuth: next,
                    // Azure always needs a credential kind: start with the managed identity.
                    azureCredentials: next === 'azure' ? (azure ?? { authType: 'msi' }) : azure,
                  },
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
              <Field
                label="Azure credentials"
                description="The identity needs the Monitoring Data Reader role on the Azure Monitor workspace"
              >
                <Combobox
                  id="netlens-azure-auth"
                  width={40}
                  options={AZURE_AUTHS}
                  value={azure?.authType ?? 'msi'}
                  onChange={(v) =>
                    // The IDs of one kind mean nothing for the other (a client ID names a
                    // user-assigned identity for msi, an app registration for clientsecret).
                    setJsonData({ azureCredentials: { authType: v.value } })
                  }
                />
              </Field>
              {azure?.authType === 'clientsecret' ? (
                <>
                  <Field label="Tenant ID">{azureIdInput('tenantId', 'netlens-azure-tenant')}</Field>
                  <Field label="Client ID">{azureIdInput('clientId', 'netlens-azure-client')}</Field>
                  <Field label="Client secret">
                    <SecretInput id="netlens-azure-secret" width={40} {...secret('azureClientSecret')} />
                  </Field>
                </>
              ) : (
                <Field
                  label="Managed identity client ID"
                  description="Only for a user-assigned identity; empty uses the system-assigned one"
                >
                  {azureIdInput('clientId', 'netlens-azure-msi-client', 'optional')}
                </Field>
              )}
            </>
          )}
        </FieldSet>
      )}

      {mode === 'direct' && (
        <FieldSet label="Agents">
          <AgentUrls urls={jsonData.agentUrls ?? []} onChange={(agentUrls) => setJsonData({ agentUrls })} />
          <Field
            label="Agent DNS name"
            description="A name whose A/AAAA records (port 10095) or SRV records (names starting with _) are the agents, e.g. the chart's headless Service; no scheme or port"
          >
            <Input
              id="netlens-agent-dns"
              width={60}
              value={jsonData.agentDnsName ?? ''}
              placeholder="netlens-agent.netlens.svc.cluster.local"
              onChange={(e) => setJsonData({ agentDnsName: e.currentTarget.value.trim() || undefined })}
            />
          </Field>
          <Field label="Agent token" description="Bearer token the agents require (their --token-file), if any">
            <SecretInput id="netlens-agent-token" width={60} {...secret('agentToken')} />
          </Field>
        </FieldSet>
      )}
    </>
  );
}

interface AgentUrlsProps {
  urls: string[];
  onChange: (urls: string[]) => void;
}

/**
 * One input per agent URL. Rows being edited (an empty new row) live in local
 * state; only non-empty, trimmed URLs are stored, so the backend never sees an
 * empty entry.
 */
function AgentUrls({ urls, onChange }: AgentUrlsProps) {
  const [rows, setRows] = useState<string[]>(() => (urls.length > 0 ? urls : ['']));

  const commit = (next: string[]) => {
    setRows(next);
    onChange(next.map((s) => s.trim()).filter(Boolean));
  };

  return (
    <Field label="Agent URLs" description="Static agent base URLs, e.g. http://10.0.0.4:10095" useFieldset>
      <Stack direction="column" gap={1}>
        {rows.map((row, i) => (
          <Stack key={i} gap={1} alignItems="center">
            <Input
              id={`netlens-agent-url-${i}`}
              aria-label={`Agent URL ${i + 1}`}
              width={60}
              value={row}
              placeholder="http://10.0.0.4:10095"
              onChange={(e) => commit(rows.map((r, j) => (j === i ? e.currentTarget.value : r)))}
            />
            <IconButton
              name="trash-alt"
              tooltip={`Remove agent URL ${i + 1}`}
              onClick={() => commit(rows.length > 1 ? rows.filter((_, j) => j !== i) : [''])}
            />
          </Stack>
        ))}
        <div>
          <Button variant="secondary" size="sm" icon="plus" onClick={() => setRows([...rows, ''])}>
            Add agent URL
          </Button>
        </div>
      </Stack>
    </Field>
  );
}
