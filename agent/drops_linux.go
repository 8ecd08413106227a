//go:build linux

package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/agent/api"
	"github.com/netlens/netlens/agent/collector"
	"github.com/netlens/netlens/agent/config"
	"github.com/netlens/netlens/agent/drops"
	"github.com/netlens/netlens/agent/events"
	"github.com/netlens/netlens/agent/kallsyms"
	"github.com/netlens/netlens/agent/metadata"
)

// dropRuntime is the drop counting of a running agent: the kernel probe, the
// accountant of totals, and the sampled event stream.
type dropRuntime struct {
	logger   *slog.Logger
	probe    *drops.Probe
	acct     *drops.Accountant
	pods     metadata.Source
	symbols  *kallsyms.Resolver
	events   *events.Buffer
	interval time.Duration
	err      error
	lock     *os.File
	devices  *drops.Devices
	// zeroLoc names location 0, which sources without a call site report.
	zeroLoc string
}

func startDrops(cfg config.Config, logger *slog.Logger, pods metadata.Source, evs *events.Buffer) *dropRuntime {
	d := &dropRuntime{logger: logger, pods: pods, interval: cfg.DrainInterval, events: evs,
		symbols: kallsyms.New("/proc/kallsyms")}
	probe, err := drops.Open(drops.Options{
		Source:          drops.Source(cfg.DropSource),
		TableEntries:    uint32(cfg.DropTableEntries),
		EventsPerSecond: uint32(cfg.DropEventsPerSecond),
		PinPath:         cfg.BPFFSPath,
		Logger:          logger,
	})
	d.probe = probe
	if err != nil {
		d.err = err
		logger.Error("drops are not counted on this node", "err", err)
		return d
	}
	if probe.Source() == drops.SourceNone {
		return d
	}
	statePath := ""
	if cfg.StateDir != "" {
		if statePath, err = d.lockState(cfg.StateDir); err != nil {
			logger.Warn("drop totals will restart from zero when the agent restarts", "err", err)
		}
	}
	d.zeroLoc = "unknown"
	if s := probe.Source(); s == drops.SourceFexit || s == drops.SourceKprobe {
		d.zeroLoc = "nf_hook_slow"
	}
	d.acct = drops.NewAccountant(probe, drops.AccountantOptions{
		Reasons: probe.Reasons(), Symbols: d.symbols, Pods: pods, MaxPodSeries: int(cfg.MaxPodSeries),
		StatePath: statePath, ZeroLocation: d.zeroLoc, Logger: logger,
	})
	if err := d.acct.Recover(); err != nil {
		d.err = fmt.Errorf("recovering drop counts: %w", err)
		logger.Error("drops are not counted on this node", "err", d.err)
		d.acct = nil
	}
	d.devices = newDevices(logger)
	return d
}

// newDevices names the devices of drop events: those of the agent's network
// namespace by name, those of other namespaces (pods') by the namespace.
func newDevices(logger *slog.Logger) *drops.Devices {
	ino, dev, err := drops.OwnNetns()
	if err != nil {
		logger.Warn("drop events will name no interface: the agent's network namespace is unknown", "err", err)
	}
	return &drops.Devices{
		Own:   ino,
		Links: drops.NewLinkNames(drops.LookupLink, nil),
		Netns: drops.NewNetnsNames("/run/netns", dev, time.Second, nil),
	}
}

// lockState takes the state directory for this agent alone: two agents
// sharing pinned tables and totals would count drops twice.
func (d *dropRuntime) lockState(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			d.lock = f
			return filepath.Join(dir, "drops.json"), nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return "", fmt.Errorf("another agent holds %s: %w", dir, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (d *dropRuntime) source() string {
	if d.probe == nil {
		return string(drops.SourceNone)
	}
	return string(d.probe.Source())
}

// kernelReasons are the drop reasons the running kernel names, as the drop
// source read them at start; nil when no source runs or the kernel has none.
func (d *dropRuntime) kernelReasons() []string {
	if d.probe == nil || d.probe.Source() == drops.SourceNone || d.probe.Reasons().Len() == 0 {
		return nil
	}
	return d.probe.Reasons().Names()
}

func (d *dropRuntime) collector() collector.Collector {
	c := collector.Drops{Err: d.err, Events: d.events.Total}
	if d.acct != nil {
		c.Totals, c.Kernel = d.acct, d.probe
	}
	return c
}

func (d *dropRuntime) status(st *api.Status) {
	st.DropSource = d.source()
	if d.probe == nil {
		return
	}
	for _, a := range d.probe.Attempts() {
		st.DropSourceAttempts = append(st.DropSourceAttempts, api.DropSourceAttempt{Source: string(a.Source), Error: a.Error, Refusal: string(a.Refusal)})
	}
	pinned, err := d.probe.Pinned()
	st.Pinned = pinned
	if err != nil {
		st.PinError = err.Error()
	}
}

// run drains counts every interval and turns kernel events into DropEvents
// until ctx ends, then drains a last time.
func (d *dropRuntime) run(ctx context.Context) {
	if d.acct == nil {
		return
	}
	rd, err := d.probe.Events()
	if err != nil {
		d.logger.Warn("no drop events", "err", err)
	} else {
		go drops.WatchLinks(ctx, d.devices.Links, d.logger)
		go d.readEvents(rd)
		defer rd.Close()
	}
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := d.acct.Drain(); err != nil {
				d.logger.Error("final drain of drop counts", "err", err)
			}
			return
		case <-t.C:
			if err := d.acct.Drain(); err != nil {
				d.logger.Warn("draining drop counts", "err", err)
			}
		}
	}
}

func (d *dropRuntime) readEvents(rd *drops.EventReader) {
	reasons := d.probe.Reasons()
	for {
		raw, err := rd.Read()
		if errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			d.logger.Warn("reading drop events", "err", err)
			continue
		}
		loc := d.zeroLoc
		if raw.Location != 0 {
			names, _ := d.symbols.Resolve([]uint64{raw.Location})
			loc = names[raw.Location]
		}
		ev := api.DropEvent{
			Time:     raw.Time,
			Reason:   reasons.Name(raw.Reason),
			Location: loc,
			Protocol: drops.ProtocolName(raw.Family, raw.L4Proto, raw.EtherType),
			Src:      d.endpoint(raw.Src, raw.SrcPort, raw.Time),
			Dst:      d.endpoint(raw.Dst, raw.DstPort, raw.Time),
			Bytes:    raw.Bytes,
		}
		dev := d.devices.Lookup(raw.Ifindex, raw.Netns, raw.Time)
		ev.Interface, ev.Ifindex, ev.Netns, ev.NetnsName = dev.Name, dev.Ifindex, dev.Netns, dev.NetnsName
		d.events.Add(ev)
	}
}

// endpoint is one end of a drop at time at, named after the pod that held
// the address then.
func (d *dropRuntime) endpoint(ip netip.Addr, port uint16, at time.Time) api.Endpoint {
	if !ip.IsValid() {
		return api.Endpoint{}
	}
	e := api.Endpoint{IP: ip.String(), Port: port}
	if p, ok := d.pods.PodByIP(ip, at, at); ok {
		e.Namespace, e.Pod, e.Workload = p.Namespace, p.Name, p.Workload
	}
	return e
}

func (d *dropRuntime) close() {
	if d.probe != nil {
		d.probe.Close()
	}
	if d.lock != nil {
		d.lock.Close()
	}
}
