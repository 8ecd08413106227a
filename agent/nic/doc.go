// Package nic turns a NIC's ethtool statistics into what Netlens exports:
// per-queue counters folded into a queue label, the seed's "Rx cache full"
// counter and the counters that mean "no receive buffer" per driver
// (docs/nic.md). Everything here is pure: the collector does the I/O.
package nic
