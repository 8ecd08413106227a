// Package models holds the data source's settings and query model: the JSON
// shapes shared with the TypeScript editors in src/datasource/types.ts.
package models

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Mode is where the data source reads from.
type Mode string

const (
	// ModePrometheus reads the agents' metrics from a Prometheus-compatible API.
	ModePrometheus Mode = "prometheus"
	// ModeDirect fans out to the agents' own API; no Prometheus needed.
	ModeDirect Mode = "direct"
)

// Schema is the metric naming the data is stored under.
type Schema string

const (
	// SchemaNetlens is Netlens's own netlens_* metrics.
	SchemaNetlens Schema = "netlens"
	// SchemaRetina is the AKS Network Observability add-on's networkobservability_* metrics.
	SchemaRetina Schema = "retina"
)

// AuthType is how the data source authenticates to Prometheus.
type AuthType string

const (
	AuthNone   AuthType = "none"
	AuthBasic  AuthType = "basic"
	AuthBearer AuthType = "bearer"
	// AuthAzure uses Azure AD tokens (Azure Monitor managed Prometheus).
	AuthAzure AuthType = "azure"
)

// Azure credential kinds.
const (
	AzureClientSecret    = "clientsecret"
	AzureManagedIdentity = "msi"
)

// Keys of secureJsonData. Their values are write-only: Grafana never sends them
// back to the browser, and the backend never puts them in a response or log.
const (
	SecureBasicAuthPassword = "basicAuthPassword"
	SecureBearerToken       = "bearerToken"
	SecureAzureClientSecret = "azureClientSecret"
	SecureAgentToken        = "agentToken"
)

// AzureCredentials selects the Azure AD identity for AuthAzure.
type AzureCredentials struct {
	AuthType string `json:"authType"`
	TenantID string `json:"tenantId,omitempty"`
	ClientID string `json:"clientId,omitempty"`
}

// JSONData is the data source's jsonData.
type JSONData struct {
	Mode             Mode              `json:"mode,omitempty"`
	Schema           Schema            `json:"schema,omitempty"`
	PrometheusAuth   AuthType          `json:"prometheusAuth,omitempty"`
	AzureCredentials *AzureCredentials `json:"azureCredentials,omitempty"`
	// AgentURLs are the agents' base URLs in direct mode, e.g. http://10.0.0.4:10095.
	AgentURLs []string `json:"agentUrls,omitempty"`
	// AgentDNSName is a DNS name whose A/AAAA (or SRV, for _service._proto names)
	// records are the agents, such as the chart's headless Service.
	AgentDNSName string `json:"agentDnsName,omitempty"`
	// TimeoutSeconds bounds each request to Prometheus or to one agent.
	TimeoutSeconds int `json:"timeoutSeconds,omitempty"`
	// ScrapeIntervalSeconds is how often Prometheus scrapes the agents
	// (Grafana's "scrape interval"): the minimum step and the base of the rate
	// window in prometheus mode. Unset means 15 s.
	ScrapeIntervalSeconds int `json:"scrapeIntervalSeconds,omitempty"`
}

// Settings are a data source instance's validated settings.
type Settings struct {
	JSONData
	// PrometheusURL is the instance's URL field, used in prometheus mode.
	PrometheusURL string
	BasicAuthUser string

	secrets map[string]string
}

// DefaultTimeoutSeconds applies when jsonData.timeoutSeconds is unset.
const DefaultTimeoutSeconds = 10

// Secret returns the decrypted secureJsonData value of key ("" if unset).
func (s *Settings) Secret(key string) string { return s.secrets[key] }

// LoadSettings parses and validates instance settings. Errors name the setting
// at fault and never contain a secret.
func LoadSettings(is backend.DataSourceInstanceSettings) (*Settings, error) {
	s := &Settings{PrometheusURL: strings.TrimSpace(is.URL), BasicAuthUser: is.BasicAuthUser, secrets: is.DecryptedSecureJSONData}
	if len(is.JSONData) > 0 {
		if err := json.Unmarshal(is.JSONData, &s.JSONData); err != nil {
			return nil, fmt.Errorf("settings are not valid JSON: %w", err)
		}
	}
	if s.Mode == "" {
		s.Mode = ModePrometheus
	}
	if s.Schema == "" {
		s.Schema = SchemaNetlens
	}
	if s.PrometheusAuth == "" {
		s.PrometheusAuth = AuthNone
	}
	if s.TimeoutSeconds == 0 {
		s.TimeoutSeconds = DefaultTimeoutSeconds
	}
	// Grafana's own basic-auth toggle counts as choosing basic auth.
	if is.BasicAuthEnabled && s.PrometheusAuth == AuthNone {
		s.PrometheusAuth = AuthBasic
	}
	return s, s.validate()
}

func (s *Settings) validate() error {
	switch s.Schema {
	case SchemaNetlens, SchemaRetina:
	default:
		return fmt.Errorf("schema %q is not supported: choose netlens or retina", s.Schema)
	}
	if s.TimeoutSeconds < 1 || s.TimeoutSeconds > 300 {
		return fmt.Errorf("timeout %d s is out of range: choose 1 to 300 seconds", s.TimeoutSeconds)
	}
	switch s.Mode {
	case ModePrometheus:
		return s.validatePrometheus()
	case ModeDirect:
		return s.validateDirect()
	default:
		return fmt.Errorf("mode %q is not supported: choose prometheus or direct", s.Mode)
	}
}

func (s *Settings) validatePrometheus() error {
	if s.PrometheusURL == "" {
		return errors.New("prometheus mode needs the Prometheus URL: set the URL field (e.g. http://prometheus:9090)")
	}
	if err := checkHTTPURL(s.PrometheusURL); err != nil {
		return fmt.Errorf("invalid Prometheus URL: %w", err)
	}
	switch s.PrometheusAuth {
	case AuthNone:
	case AuthBasic:
		if s.BasicAuthUser == "" || s.Secret(SecureBasicAuthPassword) == "" {
			return errors.New("basic auth needs a user and a password")
		}
	case AuthBearer:
		if s.Secret(SecureBearerToken) == "" {
			return errors.New("bearer auth needs a token")
		}
	case AuthAzure:
		return s.validateAzure()
	default:
		return fmt.Errorf("the Prometheus auth %q is not supported: choose none, basic, bearer or azure", s.PrometheusAuth)
	}
	return nil
}

func (s *Settings) validateAzure() error {
	c := s.AzureCredentials
	if c == nil {
		return errors.New("azure auth needs azureCredentials (managed identity or client secret)")
	}
	switch c.AuthType {
	case AzureManagedIdentity:
		return nil
	case AzureClientSecret:
		var missing []string
		if c.TenantID == "" {
			missing = append(missing, "tenant ID")
		}
		if c.ClientID == "" {
			missing = append(missing, "client ID")
		}
		if s.Secret(SecureAzureClientSecret) == "" {
			missing = append(missing, "client secret")
		}
		if len(missing) > 0 {
			return fmt.Errorf("azure client-secret auth is missing: %s", strings.Join(missing, ", "))
		}
		return nil
	default:
		return fmt.Errorf("azure credential type %q is not supported: choose msi or clientsecret", c.AuthType)
	}
}

func (s *Settings) validateDirect() error {
	if len(s.AgentURLs) == 0 && s.AgentDNSName == "" {
		return errors.New("direct mode needs agents: set agent URLs or an agent DNS name")
	}
	for i, u := range s.AgentURLs {
		if err := checkHTTPURL(u); err != nil {
			return fmt.Errorf("agent URL %d: %w", i+1, err)
		}
	}
	if n := s.AgentDNSName; n != "" && (strings.ContainsAny(n, "/:@ ") || len(n) > 253) {
		return fmt.Errorf("agent DNS name %q is not a DNS name (give a name such as netlens-agent.netlens.svc.cluster.local, without scheme or port)", n)
	}
	return nil
}

// checkHTTPURL accepts absolute http(s) URLs without credentials: secrets
// belong in secureJsonData, where they are encrypted and never echoed.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", redactURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q must start with http:// or https://", redactURL(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", redactURL(raw))
	}
	if u.User != nil {
		return fmt.Errorf("%q contains credentials: use the auth settings instead", redactURL(raw))
	}
	return nil
}

// redactURL hides user info so that an error never repeats a password.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return "xxxxx" + raw[i:]
	}
	return raw
}
