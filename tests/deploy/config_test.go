package deploy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/netlens/netlens/agent/config"
)

// agentFlags returns the flag names the agent's own command line parser knows
// (from its --help output, so nothing is listed by hand).
func agentFlags(t *testing.T) map[string]bool {
	t.Helper()
	var usage bytes.Buffer
	if _, err := config.Parse([]string{"--help"}, &usage); !errors.Is(err, config.ErrHelp) {
		t.Fatalf("config.Parse(--help) = %v, want ErrHelp", err)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-{1,2}([a-z0-9][a-z0-9-]*)`).FindAllStringSubmatch(usage.String(), -1) {
		flags[m[1]] = true
	}
	if !flags["listen-address"] || !flags["log-level"] {
		t.Fatalf("cannot read the agent's flags from its usage:\n%s", usage.String())
	}
	return flags
}

// flagValue spells a config file value as a command line value.
func flagValue(v any) string {
	switch v := v.(type) {
	case float64:
		if v == float64(int64(v)) {
			return fmt.Sprintf("%d", int64(v))
		}
		return fmt.Sprint(v)
	default:
		return fmt.Sprint(v)
	}
}

// TestAgentConfiguration: every key of every rendered agent configuration file,
// and every flag in the DaemonSets' args, is a flag of the agent, and the agent's
// own parser accepts the values (as flags; and through --config once the agent
// has it).
func TestAgentConfiguration(t *testing.T) {
	flags := agentFlags(t)
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			o := decodeAll(t, render(t, c.file))
			if len(o.configMaps) == 0 {
				t.Fatal("no agent ConfigMap rendered")
			}
			names := make([]string, 0, len(o.configMaps))
			for n := range o.configMaps {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, name := range names {
				cfg := configOf(t, o.configMaps[name])
				raw := o.configMaps[name].Data["config.yaml"]
				t.Run(name, func(t *testing.T) { checkConfig(t, flags, raw, cfg) })
			}
			for _, ds := range o.daemonSets {
				for _, a := range ds.Spec.Template.Spec.Containers[0].Args {
					name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
					if !strings.HasPrefix(a, "--") {
						t.Errorf("%s: argument %q is not a --flag", ds.Name, a)
						continue
					}
					t.Run(ds.Name+"/arg/"+name, func(t *testing.T) { requireFlag(t, flags, name) })
				}
			}
		})
	}
}

// requireFlag fails if name is not an agent flag.
func requireFlag(t *testing.T, flags map[string]bool, name string) bool {
	t.Helper()
	if flags[name] {
		return true
	}
	t.Errorf("--%s is not an agent flag (netlens-agent --help)", name)
	return false
}

func checkConfig(t *testing.T, flags map[string]bool, raw string, cfg map[string]any) {
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	dir := t.TempDir()
	for _, k := range keys {
		known := flags[k]
		t.Run("key/"+k, func(t *testing.T) { requireFlag(t, flags, k) })
		if !known {
			continue
		}
		v := flagValue(cfg[k])
		// Files the chart mounts from Secrets exist only in the pod: stand-ins.
		if strings.HasSuffix(k, "-file") && v != "" {
			v = filepath.Join(dir, k)
			if err := os.WriteFile(v, []byte("stand-in\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		args = append(args, "--"+k+"="+v)
	}
	// The agent's parser validates every value (levels, sources, ranges, durations, regexps).
	var out bytes.Buffer
	if _, err := config.Parse(args, &out); err != nil {
		t.Errorf("the agent rejects the configuration %q: %v\n%s", args, err, out.String())
	}
	if !requireFlag(t, flags, "config") {
		return
	}
	// The rendered file itself through --config, as the pod reads it (the files
	// mounted from Secrets replaced by the stand-ins above).
	text := fileKeyLine.ReplaceAllStringFunc(raw, func(line string) string {
		k, _, _ := strings.Cut(line, ":")
		return k + ": " + filepath.Join(dir, k)
	})
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	c, err := config.Parse([]string{"--config=" + file}, &out)
	if err != nil {
		t.Fatalf("the agent rejects --config with\n%s: %v\n%s", text, err, out.String())
	}
	if c.ListenAddress != ":10095" {
		t.Errorf("agent listen address from the config file %q, want :10095", c.ListenAddress)
	}
}

// fileKeyLine matches a config file line setting a *-file key.
var fileKeyLine = regexp.MustCompile(`(?m)^[a-z-]+-file: .*$`)
