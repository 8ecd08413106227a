package models

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func settings(url, jsonData string, secure map[string]string) backend.DataSourceInstanceSettings {
	return backend.DataSourceInstanceSettings{URL: url, JSONData: []byte(jsonData), DecryptedSecureJSONData: secure}
}

// Empty jsonData means prometheus mode, netlens schema, no auth, default timeout.
func TestLoadSettingsDefaults(t *testing.T) {
	s, err := LoadSettings(settings("http://prometheus:9090", `{}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	if s.Mode != ModePrometheus || s.Schema != SchemaNetlens || s.PrometheusAuth != AuthNone || s.TimeoutSeconds != DefaultTimeoutSeconds {
		t.Fatalf("defaults not applied: %+v", s.JSONData)
	}
}

func TestLoadSettingsValid(t *testing.T) {
	cases := map[string]backend.DataSourceInstanceSettings{
		"direct with urls":    settings("", `{"mode":"direct","agentUrls":["http://10.0.0.4:10095","https://[fd00::4]:10095"]}`, nil),
		"direct with dns":     settings("", `{"mode":"direct","agentDnsName":"netlens-agent.netlens.svc.cluster.local"}`, nil),
		"retina schema":       settings("https://prom.example", `{"schema":"retina"}`, nil),
		"bearer":              settings("https://prom.example", `{"prometheusAuth":"bearer"}`, map[string]string{SecureBearerToken: "t"}),
		"azure msi":           settings("https://x.prometheus.monitor.azure.com", `{"prometheusAuth":"azure","azureCredentials":{"authType":"msi"}}`, nil),
		"azure client secret": settings("https://x.prometheus.monitor.azure.com", `{"prometheusAuth":"azure","azureCredentials":{"authType":"clientsecret","tenantId":"t","clientId":"c"}}`, map[string]string{SecureAzureClientSecret: "s"}),
	}
	for name, is := range cases {
		if _, err := LoadSettings(is); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Grafana's basic-auth toggle with user and password is basic auth.
func TestLoadSettingsGrafanaBasicAuth(t *testing.T) {
	is := settings("http://prom:9090", `{}`, map[string]string{SecureBasicAuthPassword: "pw"})
	is.BasicAuthEnabled, is.BasicAuthUser = true, "grafana"
	s, err := LoadSettings(is)
	if err != nil {
		t.Fatal(err)
	}
	if s.PrometheusAuth != AuthBasic || s.Secret(SecureBasicAuthPassword) != "pw" {
		t.Fatalf("got auth %q", s.PrometheusAuth)
	}
}

// Each mistake is reported with a message naming the setting, and never echoes a secret.
func TestLoadSettingsErrors(t *testing.T) {
	const secret = "s3cr3t-value"
	cases := []struct {
		name string
		is   backend.DataSourceInstanceSettings
		want string
	}{
		{"bad json", settings("http://p", `{`, nil), "settings are not valid JSON"},
		{"no url", settings("", `{}`, nil), "needs the Prometheus URL"},
		{"bad scheme", settings("ftp://p", `{}`, nil), "must start with http:// or https://"},
		{"no host", settings("http://", `{}`, nil), "has no host"},
		{"credentials in url", settings("http://admin:"+secret+"@prom:9090", `{}`, nil), "contains credentials"},
		{"unknown mode", settings("http://p", `{"mode":"agentless"}`, nil), `mode "agentless" is not supported`},
		{"unknown schema", settings("http://p", `{"schema":"cilium"}`, nil), `schema "cilium" is not supported`},
		{"timeout", settings("http://p", `{"timeoutSeconds":1000}`, nil), "timeout 1000 s is out of range"},
		{"basic without password", settings("http://p", `{"prometheusAuth":"basic"}`, nil), "basic auth needs a user and a password"},
		{"bearer without token", settings("http://p", `{"prometheusAuth":"bearer"}`, nil), "bearer auth needs a token"},
		{"unknown auth", settings("http://p", `{"prometheusAuth":"kerberos"}`, nil), `auth "kerberos" is not supported`},
		{"azure without creds", settings("http://p", `{"prometheusAuth":"azure"}`, nil), "azure auth needs azureCredentials"},
		{"azure missing parts", settings("http://p", `{"prometheusAuth":"azure","azureCredentials":{"authType":"clientsecret"}}`, nil), "missing: tenant ID, client ID, client secret"},
		{"azure unknown type", settings("http://p", `{"prometheusAuth":"azure","azureCredentials":{"authType":"cert"}}`, nil), `azure credential type "cert"`},
		{"direct without agents", settings("", `{"mode":"direct"}`, nil), "direct mode needs agents"},
		{"direct bad url", settings("", `{"mode":"direct","agentUrls":["http://ok:1","10.0.0.5:10095"]}`, nil), "agent URL 2:"},
		{"direct url with password", settings("", `{"mode":"direct","agentUrls":["http://u:`+secret+`@a:1"]}`, nil), "contains credentials"},
		{"direct dns with scheme", settings("", `{"mode":"direct","agentDnsName":"http://agents"}`, nil), "is not a DNS name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSettings(tc.is)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error echoes a secret: %v", err)
			}
		})
	}
}
