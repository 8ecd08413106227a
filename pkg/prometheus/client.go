package prometheus

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/netlens/netlens/pkg/models"
)

// AzureScope is the Azure AD scope of Azure Monitor managed Prometheus's query API.
const AzureScope = "https://prometheus.monitor.azure.com/.default"

// maxBody bounds what is read of one Prometheus response.
const maxBody = 512 << 20

// authorizer sets a request's credentials.
type authorizer func(ctx context.Context, req *http.Request) error

func newAuthorizer(s *models.Settings, opts Options) (authorizer, error) {
	switch s.PrometheusAuth {
	case models.AuthNone, "":
		return func(context.Context, *http.Request) error { return nil }, nil
	case models.AuthBasic:
		user, pw := s.BasicAuthUser, s.Secret(models.SecureBasicAuthPassword)
		return func(_ context.Context, req *http.Request) error {
			req.SetBasicAuth(user, pw)
			return nil
		}, nil
	case models.AuthBearer:
		h := "Bearer " + s.Secret(models.SecureBearerToken)
		return func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", h)
			return nil
		}, nil
	case models.AuthAzure:
		cred := opts.AzureCredential
		if cred == nil {
			var err error
			if cred, err = azureCredential(s); err != nil {
				return nil, err
			}
		}
		return func(ctx context.Context, req *http.Request) error {
			// The credential caches its token and refreshes it before it expires.
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{AzureScope}})
			if err != nil {
				return &Error{Status: backend.StatusUnauthorized, Msg: "getting an Azure AD token for " + AzureScope + " failed: " + oneLine(err.Error())}
			}
			req.Header.Set("Authorization", "Bearer "+tok.Token)
			return nil
		}, nil
	default:
		return nil, fmt.Errorf("the Prometheus auth %q is not supported: choose none, basic, bearer or azure", s.PrometheusAuth)
	}
}

// azureCredential builds the Azure AD credential of the settings: a service
// principal's client secret, or the managed identity of the machine Grafana
// runs on (user-assigned when a client ID is set).
func azureCredential(s *models.Settings) (azcore.TokenCredential, error) {
	c := s.AzureCredentials
	if c == nil {
		return nil, errors.New("azure auth needs azureCredentials (managed identity or client secret)")
	}
	switch c.AuthType {
	case models.AzureClientSecret:
		cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, s.Secret(models.SecureAzureClientSecret), nil)
		if err != nil {
			return nil, fmt.Errorf("azure client-secret credential: %w", err)
		}
		return cred, nil
	case models.AzureManagedIdentity:
		var o azidentity.ManagedIdentityCredentialOptions
		if c.ClientID != "" {
			o.ID = azidentity.ClientID(c.ClientID)
		}
		cred, err := azidentity.NewManagedIdentityCredential(&o)
		if err != nil {
			return nil, fmt.Errorf("azure managed identity credential: %w", err)
		}
		return cred, nil
	default:
		return nil, fmt.Errorf("azure credential type %q is not supported: choose msi or clientsecret", c.AuthType)
	}
}

// Error is a failed Prometheus call: a status for the DataResponse and a
// message that names the server and never contains a secret.
type Error struct {
	Status backend.Status
	// Kind is Prometheus's errorType (bad_data, execution, timeout, ...) when it sent one.
	Kind string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// apiResponse is the envelope of every Prometheus HTTP API answer.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// redactor removes secrets from text that leaves the backend.
type redactor struct{ r *strings.Replacer }

func newRedactor(s *models.Settings) redactor {
	var pairs []string
	add := func(v string) {
		if len(v) >= 3 {
			pairs = append(pairs, v, "[redacted]")
		}
	}
	for _, k := range []string{models.SecureBasicAuthPassword, models.SecureBearerToken, models.SecureAzureClientSecret, models.SecureAgentToken} {
		v := s.Secret(k)
		add(v)
		add(url.QueryEscape(v))
		add(strings.Trim(fmt.Sprintf("%q", v), `"`))
	}
	if pw := s.Secret(models.SecureBasicAuthPassword); pw != "" {
		add(base64.StdEncoding.EncodeToString([]byte(s.BasicAuthUser + ":" + pw)))
	}
	// Longest first, so that a secret containing another is removed whole.
	for i := 0; i < len(pairs); i += 2 {
		for j := i + 2; j < len(pairs); j += 2 {
			if len(pairs[j]) > len(pairs[i]) {
				pairs[i], pairs[j] = pairs[j], pairs[i]
			}
		}
	}
	return redactor{strings.NewReplacer(pairs...)}
}

func (r redactor) String(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}

// call sends one request to the Prometheus HTTP API under the configured URL.
// path is one of this package's constants; nothing from a query reaches it.
// Query, range and step travel as form (POST) or URL (GET) parameters.
func (r *Reader) call(ctx context.Context, method, path string, params url.Values) (*apiResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	u := r.base.JoinPath(path)
	var body io.Reader
	if method == http.MethodGet {
		u.RawQuery = params.Encode()
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, r.fail(backend.StatusInternal, "", "building the request to %s: %v", r.where, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "netlens-datasource")
	if err := r.auth(ctx, req); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			return nil, r.fail(pe.Status, "", "%s: %s", r.where, pe.Msg)
		}
		return nil, r.fail(backend.StatusUnauthorized, "", "%s: %v", r.where, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, r.fail(backend.StatusTimeout, "", "%s did not answer within %s (timeoutSeconds): %v", r.where, r.timeout, err)
		}
		return nil, r.fail(backend.StatusBadGateway, "", "cannot reach %s: %v", r.where, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, r.fail(backend.StatusBadGateway, "", "reading the answer of %s: %v", r.where, err)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, r.fail(backend.StatusUnauthorized, "", "%s refused the credentials (HTTP 401 Unauthorized, %s auth): check the auth settings%s", r.where, r.authName, snippet(raw))
	case http.StatusForbidden:
		return nil, r.fail(backend.StatusForbidden, "", "%s denied access (HTTP 403 Forbidden, %s auth): the identity lacks permission to query%s", r.where, r.authName, snippet(raw))
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, r.fail(backend.StatusBadGateway, "", "%s redirects (HTTP %d to %q): set the URL to the final address", r.where, resp.StatusCode, resp.Header.Get("Location"))
	}
	ar, err := decodeEnvelope(raw)
	if err != nil || ar.Status == "" {
		return nil, r.fail(statusOf(resp.StatusCode), "", "%s answered %s with something that is not the Prometheus HTTP API (is the URL the Prometheus server's base URL?)%s", r.where, httpStatus(resp), snippet(raw))
	}
	if ar.Status != "success" {
		return ar, r.fail(statusOf(resp.StatusCode), ar.ErrorType, "Prometheus error (%s, %s): %s", ar.ErrorType, httpStatus(resp), ar.Error)
	}
	return ar, nil
}

func (r *Reader) fail(status backend.Status, kind, format string, args ...any) *Error {
	return &Error{Status: status, Kind: kind, Msg: r.redact.String(fmt.Sprintf(format, args...))}
}

func statusOf(code int) backend.Status {
	switch {
	case code == http.StatusBadRequest, code == http.StatusUnprocessableEntity:
		return backend.StatusBadRequest
	case code == http.StatusNotFound:
		return backend.StatusNotFound
	case code == http.StatusTooManyRequests:
		return backend.StatusTooManyRequests
	case code == http.StatusServiceUnavailable, code == http.StatusGatewayTimeout:
		return backend.StatusTimeout
	case code >= 500:
		return backend.StatusBadGateway
	case code >= 400:
		return backend.StatusBadRequest
	}
	return backend.StatusInternal
}

func httpStatus(resp *http.Response) string {
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// snippet quotes the start of a body, for errors.
func snippet(b []byte) string {
	s := oneLine(string(b))
	if s == "" {
		return ""
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return fmt.Sprintf(" (answer: %q)", s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// noRedirect keeps every request on the configured server: a redirect is
// reported, not followed.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func newHTTPClient(opts Options, timeout time.Duration) *http.Client {
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		tr = t
	}
	return &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirect}
}
