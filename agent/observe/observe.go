// Package observe is `netlens-agent observe`: a terminal live view of an
// agent's drop events, like `hubble observe --verdict DROPPED`.
package observe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/netlens/netlens/agent/api"
)

// Run runs the subcommand with args until ctx ends; it returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("netlens-agent observe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", "http://127.0.0.1:10095", "the agent's address")
	tokenFile := fs.String("token-file", "", "file holding the agent's bearer token")
	caFile := fs.String("ca-file", "", "PEM CA certificate to verify an HTTPS agent with")
	reasons := fs.String("reason", "", "only these drop reasons (comma-separated, e.g. NETFILTER_DROP,NO_SOCKET)")
	namespaces := fs.String("namespace", "", "only drops with an end in these namespaces (comma-separated)")
	pods := fs.String("pod", "", "only drops with an end in these pods (comma-separated, name or namespace/name)")
	interfaces := fs.String("interface", "", "only drops on these devices, as this view shows them (comma-separated, e.g. eth0 or \"ifindex 2 in netns cni-1f0c\")")
	output := fs.String("output", "compact", "compact (one line per drop) or json")
	replay := fs.Bool("replay", true, "first print the drops the agent kept from before")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: netlens-agent observe [flags]\n\nPrints the agent's sampled packet drops as they happen, until interrupted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *output != "compact" && *output != "json" {
		fmt.Fprintf(stderr, "netlens-agent observe: invalid value %q for flag --output: want compact or json\n", *output)
		return 2
	}
	c := &api.Client{BaseURL: *server, HTTP: &http.Client{}}
	if *tokenFile != "" {
		raw, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "netlens-agent observe: --token-file: %v\n", err)
			return 2
		}
		c.Token = strings.TrimSpace(string(raw))
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(stderr, "netlens-agent observe: --ca-file: no certificate read from %s (%v)\n", *caFile, err)
			return 2
		}
		c.HTTP.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	filter := api.EventFilter{Reasons: split(*reasons), Namespaces: split(*namespaces), Pods: split(*pods), Interfaces: split(*interfaces), Replay: *replay}
	show := func(e api.DropEvent) {
		if *output == "json" {
			b, _ := json.Marshal(e)
			fmt.Fprintln(stdout, string(b))
			return
		}
		fmt.Fprintln(stdout, Format(e))
	}
	for {
		err := c.Events(ctx, filter, show)
		if ctx.Err() != nil {
			return 0
		}
		var se *api.StatusError
		if errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Code != http.StatusTooManyRequests {
			fmt.Fprintf(stderr, "netlens-agent observe: %v\n", err)
			return 1
		}
		// The agent restarted, or this view fell behind: say so and go on.
		fmt.Fprintf(stderr, "netlens-agent observe: stream ended (%v); reconnecting\n", err)
		filter.Replay = false
		select {
		case <-ctx.Done():
			return 0
		case <-time.After(time.Second):
		}
	}
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Format is one drop as one line:
//
//	15:04:05.123 10.0.0.9:41234 (default/web-7f) -> 10.0.0.5:5432 (prod/db-0) tcp NETFILTER_DROP at nf_hook_slow, 60 bytes on eth0
func Format(e api.DropEvent) string {
	var b strings.Builder
	b.WriteString(e.Time.Local().Format("Jan _2 15:04:05.000"))
	b.WriteString(" " + endpoint(e.Src, e.Protocol, true) + " -> " + endpoint(e.Dst, e.Protocol, false))
	b.WriteString(" " + e.Protocol + " " + e.Reason)
	if e.Location != "" {
		b.WriteString(" at " + e.Location)
	}
	fmt.Fprintf(&b, ", %d bytes", e.Bytes)
	if dev := e.DisplayInterface(); dev != "" {
		b.WriteString(" on " + dev)
	}
	return b.String()
}

func endpoint(ep api.Endpoint, protocol string, src bool) string {
	if ep.IP == "" {
		return "?"
	}
	s := ep.IP
	if strings.Contains(s, ":") {
		s = "[" + s + "]"
	}
	switch {
	case strings.HasPrefix(protocol, "icmp"):
		if src {
			s += fmt.Sprintf(" type %d", ep.Port)
		} else {
			s += fmt.Sprintf(" code %d", ep.Port)
		}
	case ep.Port != 0:
		s += fmt.Sprintf(":%d", ep.Port)
	}
	if ep.Pod != "" {
		s += " (" + ep.Namespace + "/" + ep.Pod + ")"
	}
	return s
}
