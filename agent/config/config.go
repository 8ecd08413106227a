// Package config parses and validates the agent's command line.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
)

// Config is the agent's validated configuration.
type Config struct {
	// ListenAddress is host:port of the HTTP server (/metrics, /healthz, /readyz, /api/v1).
	ListenAddress string
	LogLevel      slog.Level
	// LogFormat is "json" or "text".
	LogFormat string
	// ShowVersion asks the agent to print its version and exit.
	ShowVersion bool
}

// DefaultListenAddress is the agent's port from the design contract.
const DefaultListenAddress = ":10095"

// ErrHelp is returned when -h or --help was given; usage has been written.
var ErrHelp = flag.ErrHelp

// Parse parses the agent's arguments (without the program name). Usage and
// flag errors are written to output. Every error names the flag at fault.
func Parse(args []string, output io.Writer) (Config, error) {
	fs := flag.NewFlagSet("netlens-agent", flag.ContinueOnError)
	fs.SetOutput(output)
	var (
		c        Config
		logLevel string
	)
	fs.StringVar(&c.ListenAddress, "listen-address", DefaultListenAddress, "`host:port` to serve /metrics, /healthz, /readyz and the agent API on")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", "json", "log format: json or text")
	fs.BoolVar(&c.ShowVersion, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q (all options are flags, see --help)", fs.Arg(0))
	}
	if err := c.LogLevel.UnmarshalText([]byte(logLevel)); err != nil || !isKnownLevel(logLevel) {
		return Config{}, fmt.Errorf("invalid value %q for flag --log-level: want debug, info, warn or error", logLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return Config{}, fmt.Errorf("invalid value %q for flag --log-format: want json or text", c.LogFormat)
	}
	if err := validateListenAddress(c.ListenAddress); err != nil {
		return Config{}, fmt.Errorf("invalid value %q for flag --listen-address: %w", c.ListenAddress, err)
	}
	return c, nil
}

func isKnownLevel(s string) bool {
	switch strings.ToLower(s) {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

func validateListenAddress(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("want host:port, e.g. :10095 or 127.0.0.1:10095")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}
