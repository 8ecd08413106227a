// Package version holds the agent's version, set at build time with
// -ldflags "-X github.com/netlens/netlens/agent/version.Version=<v>".
package version

// Version is the agent's release, "dev" for untagged builds.
var Version = "dev"
