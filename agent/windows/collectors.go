package windows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/metadata"
)

// EndpointLister lists the node's local HNS endpoints of running containers.
type EndpointLister interface {
	Endpoints(ctx context.Context) ([]Endpoint, error)
}

// HNS is what the HNS collector needs of the Host Networking Service.
type HNS interface {
	EndpointLister
	// Stats reads an endpoint's counters.
	Stats(ctx context.Context, id string) (HNSStats, error)
}

// Vfpctrl runs vfpctrl with args and returns at most limit bytes of its output.
type Vfpctrl func(ctx context.Context, limit int64, args ...string) ([]byte, error)

// ErrNoVfpctrl is returned when vfpctrl is not on the PATH.
var ErrNoVfpctrl = errors.New("vfpctrl not found on PATH (it comes with the VFP vSwitch extension, in %SystemRoot%\\System32 on nodes that have it; the agent must run as a HostProcess container to see it)")

// RunVfpctrl runs the vfpctrl found on the PATH.
func RunVfpctrl(ctx context.Context, limit int64, args ...string) ([]byte, error) {
	path, err := exec.LookPath("vfpctrl")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoVfpctrl, err)
	}
	return runBounded(ctx, limit, path, args...)
}

// HNSCollector exports HNS endpoint counters: ENDPOINT_DROP drops at the node
// and per pod, and each endpoint's packets, bytes and drops as interface
// counters.
type HNSCollector struct {
	hns    HNS
	acct   *Accountant
	logger *slog.Logger
	now    func() time.Time
}

// NewHNSCollectorWith returns the HNS collector reading h; pods attributes
// endpoints to pods by address.
func NewHNSCollectorWith(h HNS, pods metadata.Source, logger *slog.Logger) *HNSCollector {
	return &HNSCollector{hns: h, acct: NewAccountant(ReasonEndpointDrop, LocationHNS, pods), logger: logger, now: time.Now}
}

func (*HNSCollector) Name() string { return "hns" }

// Update reads every endpoint's stats. It fails when the endpoints cannot be
// listed or no endpoint's stats could be read; a few failed endpoints (one
// deleted between the listing and the read) are logged, and their counts are
// picked up by the next successful read.
func (c *HNSCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	eps, err := c.hns.Endpoints(ctx)
	if err != nil {
		return fmt.Errorf("listing HNS endpoints: %w", err)
	}
	listed := make([]string, 0, len(eps))
	stats := make([]EndpointStats, 0, len(eps))
	samples := make([]Sample, 0, len(eps))
	var failed int
	var firstErr error
	for _, e := range eps {
		listed = append(listed, e.ID)
		if ctx.Err() != nil {
			continue
		}
		s, err := c.hns.Stats(ctx, e.ID)
		if err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("endpoint %s (%s): %w", e.ID, e.Interface(), err)
			}
			continue
		}
		es := EndpointStats{Endpoint: e, Stats: s}
		stats = append(stats, es)
		samples = append(samples, HNSSample(es))
	}
	c.acct.Observe(c.now(), samples, listed)
	c.acct.Collect(ch)
	CollectInterfaces(stats, ch)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("reading HNS endpoint stats: read %d of %d endpoints: %w", len(stats), len(eps), ctx.Err())
	case failed > 0 && len(stats) == 0:
		return fmt.Errorf("reading HNS endpoint stats: all %d endpoints failed, first: %w", failed, firstErr)
	case failed > 0:
		c.logger.Warn("some HNS endpoint stats could not be read", "failed", failed, "endpoints", len(eps), "first_error", firstErr)
	}
	return nil
}

// VFPCollector exports the ACL drops of the VFP port of each HNS endpoint
// (ACL_DROP), at the node and per pod. vfpctrl's JSON output (/format 1) is
// read first, its text output when that fails; once the text form worked
// where JSON did not, only text is used.
type VFPCollector struct {
	hns      EndpointLister
	vfpctrl  Vfpctrl
	acct     *Accountant
	logger   *slog.Logger
	now      func() time.Time
	workers  int
	textOnly atomic.Bool
}

// NewVFPCollectorWith returns the VFP collector listing endpoints with h and
// running vfpctrl with run.
func NewVFPCollectorWith(h EndpointLister, run Vfpctrl, pods metadata.Source, logger *slog.Logger) *VFPCollector {
	return &VFPCollector{hns: h, vfpctrl: run, acct: NewAccountant(ReasonACLDrop, LocationVFP, pods),
		logger: logger, now: time.Now, workers: 4}
}

func (*VFPCollector) Name() string { return "vfp" }

// readBoth runs vfpctrl in JSON form then, if that fails, in text form, and
// parses the output; it learns to skip JSON when only text works.
func readBoth[T any](ctx context.Context, c *VFPCollector, limit int64, args []string,
	parseJSON, parseText func([]byte) (T, error)) (T, error) {
	var zero T
	var jsonErr error
	if !c.textOnly.Load() {
		out, err := c.vfpctrl(ctx, limit, append(append([]string{}, args...), "/format", "1")...)
		if err == nil {
			v, perr := parseJSON(out)
			if perr == nil {
				return v, nil
			}
			err = perr
		}
		if errors.Is(err, ErrNoVfpctrl) || ctx.Err() != nil {
			return zero, err
		}
		jsonErr = err
	}
	out, err := c.vfpctrl(ctx, limit, args...)
	if err == nil {
		v, perr := parseText(out)
		if perr == nil {
			if jsonErr != nil {
				c.textOnly.Store(true)
				c.logger.Info("vfpctrl JSON output unusable, using its text output", "err", jsonErr)
			}
			return v, nil
		}
		err = perr
	}
	if jsonErr != nil {
		return zero, errors.Join(jsonErr, err)
	}
	return zero, err
}

type portJob struct {
	ep   Endpoint
	port string
	pc   PortCounters
	err  error
}

// Update maps each endpoint's MAC address to its VFP port and reads the
// port's counters. It fails when vfpctrl or the endpoints are missing, when
// no endpoint has a port, or when no port's counters could be read.
func (c *VFPCollector) Update(ctx context.Context, ch chan<- prometheus.Metric) error {
	eps, err := c.hns.Endpoints(ctx)
	if err != nil {
		return fmt.Errorf("listing HNS endpoints: %w", err)
	}
	ports, err := readBoth(ctx, c, maxListOutput, []string{"/list-vmswitch-port"}, ParseVMSwitchPortsJSON, ParseVMSwitchPorts)
	if err != nil {
		return fmt.Errorf("listing VFP ports: %w", err)
	}
	byMAC, ambiguous := PortsByMAC(ports)
	if len(ambiguous) > 0 {
		c.logger.Warn("VFP ports sharing a MAC address are skipped", "macs", ambiguous)
	}
	var jobs []*portJob
	var noPort []string
	for _, e := range eps {
		port, ok := byMAC[e.MAC]
		if !ok || e.MAC == "" {
			noPort = append(noPort, e.ID)
			continue
		}
		jobs = append(jobs, &portJob{ep: e, port: port})
	}
	if len(noPort) > 0 {
		c.logger.Debug("HNS endpoints without a VFP port", "endpoints", noPort)
	}

	sem := make(chan struct{}, max(c.workers, 1))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			j.pc, j.err = readBoth(ctx, c, maxCountersOutput, []string{"/port", j.port, "/get-port-counter"}, ParseVFPJSON, ParseVFPText)
		}()
	}
	wg.Wait()

	listed := make([]string, 0, len(jobs))
	samples := make([]Sample, 0, len(jobs))
	var failed int
	var firstErr error
	for _, j := range jobs {
		s := VFPSample(j.ep, j.port, j.pc)
		listed = append(listed, s.Key)
		if j.err != nil {
			failed++
			if firstErr == nil {
				firstErr = fmt.Errorf("port %s of endpoint %s: %w", j.port, j.ep.ID, j.err)
			}
			continue
		}
		samples = append(samples, s)
	}
	c.acct.Observe(c.now(), samples, listed)
	c.acct.Collect(ch)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("reading VFP port counters: %w", ctx.Err())
	case len(eps) > 0 && len(jobs) == 0:
		return fmt.Errorf("none of the %d HNS endpoints has a VFP port with its MAC address (%d ports listed)", len(eps), len(ports))
	case failed > 0 && len(samples) == 0:
		return fmt.Errorf("reading VFP port counters: all %d ports failed, first: %w", failed, firstErr)
	case failed > 0:
		c.logger.Warn("some VFP port counters could not be read", "failed", failed, "ports", len(jobs), "first_error", firstErr)
	}
	return nil
}
