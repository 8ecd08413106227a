// Package sysinfo reads facts about the host the agent runs on.
package sysinfo
