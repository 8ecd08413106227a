package config

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Defaults follow the design contract: port 10095, info level, JSON logs.
func TestParseDefaults(t *testing.T) {
	c, err := Parse(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		ListenAddress: ":10095", LogLevel: slog.LevelInfo, LogFormat: "json",
		DropSource: "auto", DropEventsPerSecond: 1000, DropTableEntries: 16384, DrainInterval: 5 * time.Second,
		MaxPodSeries: 10000, StateDir: "/var/lib/netlens", BPFFSPath: "/sys/fs/bpf/netlens", ProcPath: "/proc",
	}
	if c.EthtoolInclude == nil || c.EthtoolInclude.String() != DefaultEthtoolInclude {
		t.Fatalf("ethtool include %v, want the default", c.EthtoolInclude)
	}
	c.EthtoolInclude = nil
	if c != want {
		t.Fatalf("got %+v, want %+v", c, want)
	}
}

func TestParseValidFlags(t *testing.T) {
	c, err := Parse([]string{"--listen-address", "127.0.0.1:0", "--log-level=debug", "--log-format", "text"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddress != "127.0.0.1:0" || c.LogLevel != slog.LevelDebug || c.LogFormat != "text" {
		t.Fatalf("flags not applied: %+v", c)
	}
}

// Every bad value is rejected with a message that names the flag and says what is wanted.
func TestParseRejectsBadValues(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--log-level", "verbose"}, `invalid value "verbose" for flag --log-level`},
		{[]string{"--log-level", "info+2"}, `invalid value "info+2" for flag --log-level`},
		{[]string{"--log-format", "xml"}, `invalid value "xml" for flag --log-format`},
		{[]string{"--listen-address", "10095"}, `invalid value "10095" for flag --listen-address: want host:port`},
		{[]string{"--listen-address", ":http"}, `port "http" is not a number`},
		{[]string{"--listen-address", ":70000"}, `port "70000" is not a number from 0 to 65535`},
		{[]string{"--no-such-flag"}, "flag provided but not defined: -no-such-flag"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--drop-source", "xdp"}, `invalid value "xdp" for flag --drop-source`},
		{[]string{"--drop-table-entries", "1"}, "invalid value 1 for flag --drop-table-entries"},
		{[]string{"--drop-events-per-second", "-1"}, "invalid value \"-1\" for flag -drop-events-per-second"},
		{[]string{"--drain-interval", "1ms"}, "invalid value 1ms for flag --drain-interval"},
		{[]string{"--pods-file", "/nonexistent/pods.json"}, `invalid value "/nonexistent/pods.json" for flag --pods-file`},
		{[]string{"--ethtool-include", "rx_(cache"}, `invalid value "rx_(cache" for flag --ethtool-include: error parsing regexp`},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := Parse(tc.args, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) error = %v, want it to contain %q", tc.args, err, tc.want)
			}
		})
	}
}

func TestParseHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := Parse([]string{"--help"}, &out)
	if !errors.Is(err, ErrHelp) {
		t.Fatalf("error = %v, want ErrHelp", err)
	}
	if !strings.Contains(out.String(), "-listen-address") {
		t.Fatalf("usage lacks flags:\n%s", out.String())
	}
}
