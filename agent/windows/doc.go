// Package windows collects packet drops on Windows nodes from the Host
// Networking Service (HNS endpoint statistics) and the Virtual Filtering
// Platform (VFP port counters read with vfpctrl), into the same metric names
// the Linux agent exports (see docs/windows.md).
//
// Everything that turns raw data into metrics (the vfpctrl parsers, the
// MAC-to-port mapping, endpoint-to-pod attribution and the counter
// accounting) is platform independent and tested on Linux against recorded
// output. Only the calls into HNS (github.com/Microsoft/hcsshim) and the
// vfpctrl command line are in *_windows.go files.
package windows
