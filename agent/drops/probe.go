//go:build linux

package drops

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"

	"github.com/netlens/netlens/bpf"
)

// Source is a kernel hook drops are counted at.
type Source string

const (
	SourceAuto       Source = "auto"
	SourceTPBTF      Source = "tp_btf"
	SourceTracepoint Source = "tracepoint"
	SourceFexit      Source = "fexit"
	SourceKprobe     Source = "kprobe"
	// SourceNone means no drop program runs.
	SourceNone Source = "none"
)

// Sources lists every source in the order auto tries them.
var Sources = []Source{SourceTPBTF, SourceTracepoint, SourceFexit, SourceKprobe}

// ParseSource validates a --drop-source value.
func ParseSource(s string) (Source, error) {
	switch src := Source(s); src {
	case SourceAuto, SourceTPBTF, SourceTracepoint, SourceFexit, SourceKprobe, SourceNone:
		return src, nil
	}
	return "", fmt.Errorf("unknown drop source %q: want auto, tp_btf, tracepoint, fexit, kprobe or none", s)
}

// Options configure Open.
type Options struct {
	// Source forces one source; "" or auto tries them in order.
	Source Source
	// TableEntries bounds each count table (distinct reason/location/address keys).
	TableEntries uint32
	// EventsPerSecond is the node-wide rate of sampled drop events; 0 disables them.
	EventsPerSecond uint32
	// PinPath is a bpffs directory for the programs, links and maps; "" disables pinning.
	PinPath string
	Logger  *slog.Logger
}

// Attempt records why a source was or was not used.
type Attempt struct {
	Source Source `json:"source"`
	Error  string `json:"error,omitempty"`
	// Refusal classifies Error: not supported, not permitted or failed.
	Refusal Refusal `json:"refusal,omitempty"`
}

// Probe is the loaded drop programs and their maps.
type Probe struct {
	source   Source
	attempts []Attempt
	reasons  Reasons
	pinPath  string // "" when not pinned
	pinErr   error
	logger   *slog.Logger

	coll   *ebpf.Collection
	progs  []*ebpf.Program // the programs doing the counting (maybe loaded from pinned links)
	links  []link.Link
	tables [2]*ebpf.Map
	outer  *ebpf.Map
	// fronts are the per-CPU caches in front of the tables, one per table;
	// the installed front decides the table programs count into.
	fronts     [2]*ebpf.Map
	frontOuter *ebpf.Map
	stats      *ebpf.Map
	events     *ebpf.Map
	rate       *ebpf.Map

	// mu serializes table operations (swap, read, clear).
	mu sync.Mutex
}

// Open loads and attaches the first source that works (or the forced one).
// When none works it returns a Probe with source none, whose Attempts say why,
// and an error.
func Open(opts Options) (*Probe, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.TableEntries == 0 {
		opts.TableEntries = 16384
	}
	p := &Probe{source: SourceNone, logger: opts.Logger}
	candidates := Sources
	switch opts.Source {
	case "", SourceAuto:
	case SourceNone:
		return p, nil
	default:
		candidates = []Source{opts.Source}
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		opts.Logger.Warn("cannot raise RLIMIT_MEMLOCK", "err", err)
	}
	if opts.PinPath != "" {
		if err := ensureBPFFS(opts.PinPath); err != nil {
			p.pinErr = err
			opts.Logger.Warn("pinning disabled: drops during an agent restart will not be counted", "err", err)
		} else {
			p.pinPath = opts.PinPath
		}
	}

	var errs []error
	for _, src := range candidates {
		err := p.open(src, opts)
		if err == nil {
			p.source = src
			p.attempts = append(p.attempts, Attempt{Source: src})
			if err := p.setEventRate(opts.EventsPerSecond); err != nil {
				p.Close()
				return p, err
			}
			return p, nil
		}
		refusal := refusalOf(err)
		msg := err.Error()
		if refusal == NotPermitted {
			msg += " (" + permissionHint() + ")"
		}
		p.attempts = append(p.attempts, Attempt{Source: src, Error: msg, Refusal: refusal})
		errs = append(errs, fmt.Errorf("%s: %w", src, err))
		p.closeObjects()
	}
	p.source = SourceNone
	return p, fmt.Errorf("no drop source works: %w", errors.Join(errs...))
}

// Source is the source in use.
func (p *Probe) Source() Source { return p.source }

// Attempts lists the sources tried and why each failed.
func (p *Probe) Attempts() []Attempt { return append([]Attempt(nil), p.attempts...) }

// Reasons names the reason numbers of the running kernel.
func (p *Probe) Reasons() Reasons { return p.reasons }

// Pinned reports whether the programs and maps are pinned, or why not.
func (p *Probe) Pinned() (bool, error) { return p.pinPath != "", p.pinErr }

func (p *Probe) open(src Source, opts Options) error {
	spec, progs, err := loadSpec(src)
	if err != nil {
		return err
	}
	if src == SourceTracepoint {
		if err := p.configureTracepoint(spec); err != nil {
			return err
		}
	} else {
		kernel, err := btf.LoadKernelSpec()
		if err != nil {
			return fmt.Errorf("%w: %w", errNoKernelBTF, err)
		}
		switch src {
		case SourceTPBTF:
			if err := checkReasonArgument(kernel); err != nil {
				return err
			}
		case SourceFexit:
			if err := checkNfhookTarget(kernel); err != nil {
				return err
			}
		}
		if p.reasons, err = ReasonsFromBTF(kernel); err != nil && src == SourceTPBTF {
			return err
		}
	}
	for name := range spec.Programs {
		if !containsName(progs, name) {
			delete(spec.Programs, name)
		}
	}
	spec.Maps["drop_tables"].InnerMap.MaxEntries = opts.TableEntries

	collOpts := ebpf.CollectionOptions{}
	if p.pinPath != "" {
		for name, m := range spec.Maps {
			if !isDataSection(name) {
				m.Pinning = ebpf.PinByName
			}
		}
		collOpts.Maps.PinPath = p.pinPath
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, collOpts)
	if errors.Is(err, ebpf.ErrMapIncompatible) && p.pinPath != "" {
		// Maps pinned by another Netlens version: start afresh. Counts still
		// in their tables are lost; the log says so.
		p.logger.Warn("pinned drop maps are incompatible with this agent; replacing them", "path", p.pinPath, "err", err)
		if rmErr := removePins(p.pinPath); rmErr != nil {
			return fmt.Errorf("replacing incompatible pinned maps: %w", rmErr)
		}
		coll, err = ebpf.NewCollectionWithOptions(spec, collOpts)
	}
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return fmt.Errorf("loading programs: %+v", ve)
		}
		return fmt.Errorf("loading programs: %w", err)
	}
	p.coll = coll
	p.outer = coll.Maps["drop_tables"]
	p.frontOuter = coll.Maps["drop_fronts"]
	p.stats = coll.Maps["drop_stats"]
	p.events = coll.Maps["drop_events"]
	p.rate = coll.Maps["event_rate"]
	if err := p.openTables(spec.Maps["drop_tables"].InnerMap, spec.Maps["drop_fronts"].InnerMap); err != nil {
		return err
	}
	return p.attach(src, progs)
}

// attachment is one program and where it attaches.
type attachment struct {
	prog string
	do   func(*ebpf.Program) (link.Link, error)
}

func loadSpec(src Source) (*ebpf.CollectionSpec, []attachment, error) {
	tracing := func(p *ebpf.Program) (link.Link, error) {
		return link.AttachTracing(link.TracingOptions{Program: p})
	}
	switch src {
	case SourceTPBTF:
		spec, err := bpf.LoadDrops()
		return spec, []attachment{{"kfree_skb_reason", tracing}}, err
	case SourceTracepoint:
		spec, err := bpf.LoadDropsTracepoint()
		return spec, []attachment{{"kfree_skb_tracepoint", func(p *ebpf.Program) (link.Link, error) {
			return link.Tracepoint("skb", "kfree_skb", p, nil)
		}}}, err
	case SourceFexit:
		spec, err := loadNfhook()
		return spec, []attachment{{"nf_hook_slow_entry", tracing}, {"nf_hook_slow_exit", tracing}}, err
	case SourceKprobe:
		spec, err := loadNfhook()
		return spec, []attachment{
			{"nf_hook_slow_kprobe", func(p *ebpf.Program) (link.Link, error) { return link.Kprobe("nf_hook_slow", p, nil) }},
			{"nf_hook_slow_kretprobe", func(p *ebpf.Program) (link.Link, error) { return link.Kretprobe("nf_hook_slow", p, nil) }},
		}, err
	}
	return nil, nil, fmt.Errorf("unknown source %q", src)
}

func containsName(as []attachment, name string) bool {
	for _, a := range as {
		if a.prog == name {
			return true
		}
	}
	return false
}

// errNoReasonArgument means tp_btf/kfree_skb cannot be used for drops with
// reasons on this kernel.
var errNoReasonArgument = errors.New("kernel has no kfree_skb BTF tracepoint with a drop reason (5.17+)")

// checkReasonArgument makes sure tp_btf/kfree_skb passes a drop reason
// (kernels 5.17+): without it the program would read garbage as the reason.
func checkReasonArgument(kernel *btf.Spec) error {
	var td *btf.Typedef
	if err := kernel.TypeByName("btf_trace_kfree_skb", &td); err != nil {
		return fmt.Errorf("%w: %w", errNoReasonArgument, err)
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return fmt.Errorf("%w: btf_trace_kfree_skb is not a function pointer", errNoReasonArgument)
	}
	fp, ok := ptr.Target.(*btf.FuncProto)
	if !ok {
		return fmt.Errorf("%w: btf_trace_kfree_skb is not a function pointer", errNoReasonArgument)
	}
	// (void *ctx, struct sk_buff *skb, void *location, enum skb_drop_reason reason, ...)
	if len(fp.Params) < 4 {
		return fmt.Errorf("%w: kfree_skb has no reason argument (kernel before 5.17)", errNoReasonArgument)
	}
	if _, ok := btf.UnderlyingType(fp.Params[3].Type).(*btf.Enum); !ok {
		return fmt.Errorf("%w: kfree_skb's third argument is not the drop reason enum", errNoReasonArgument)
	}
	return nil
}

func (p *Probe) configureTracepoint(spec *ebpf.CollectionSpec) error {
	format, err := kfreeSkbFormat()
	if err != nil {
		return err
	}
	fields, err := parseTracepointFields(format)
	if err != nil {
		return err
	}
	p.reasons = ReasonsFromTracepointFormat(format)
	consumed := uint32(0xffffffff)
	if kernel, err := btf.LoadKernelSpec(); err == nil {
		if r, err := ReasonsFromBTF(kernel); err == nil {
			p.reasons = r
		}
	}
	if v, ok := p.reasons.Value("CONSUMED"); ok {
		consumed = v
	}
	for name, v := range map[string]uint32{
		"off_location": fields.location, "off_protocol": fields.protocol,
		"off_reason": fields.reason, "consumed_reason": consumed,
	} {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("setting %s: %w", name, err)
		}
	}
	return nil
}

// openTables opens (or creates and pins) the two count tables and their
// fronts, pairs them, and makes sure one front is installed.
func (p *Probe) openTables(table, front *ebpf.MapSpec) error {
	for i := range p.tables {
		var err error
		if p.tables[i], err = p.openInner(fmt.Sprintf("drop_table_%d", i), table); err != nil {
			return err
		}
		if p.fronts[i], err = p.openInner(fmt.Sprintf("drop_front_%d", i), front); err != nil {
			return err
		}
	}
	if err := p.pair(); err != nil {
		return err
	}
	if _, err := p.activeIndex(); err == nil {
		return nil
	}
	return p.install(0)
}

// openInner opens the pinned map name if it has the shape of spec, or creates
// (and pins) it.
func (p *Probe) openInner(name string, spec *ebpf.MapSpec) (*ebpf.Map, error) {
	if p.pinPath != "" {
		m, err := ebpf.LoadPinnedMap(filepath.Join(p.pinPath, name), nil)
		if err == nil {
			if compatible(m, spec) {
				return m, nil
			}
			m.Close()
			p.logger.Warn("pinned count map has another shape; replacing it, its counts are lost", "map", name)
			_ = os.Remove(filepath.Join(p.pinPath, name))
		}
	}
	spec = spec.Copy()
	spec.Name = name
	m, err := ebpf.NewMap(spec)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	if p.pinPath != "" {
		if err := m.Pin(filepath.Join(p.pinPath, name)); err != nil {
			m.Close()
			return nil, fmt.Errorf("pinning %s: %w", name, err)
		}
	}
	return m, nil
}

func compatible(m *ebpf.Map, spec *ebpf.MapSpec) bool {
	return m.Type() == spec.Type && m.KeySize() == spec.KeySize && m.ValueSize() == spec.ValueSize && m.MaxEntries() == spec.MaxEntries
}

// attach attaches the source's programs, keeping pinned links whose program is
// the same as ours (an agent restart) and replacing the others (an upgrade).
func (p *Probe) attach(src Source, as []attachment) error {
	if p.pinPath != "" {
		removeStaleLinks(p.pinPath, as, p.logger)
	}
	for _, a := range as {
		prog := p.coll.Programs[a.prog]
		pinned := filepath.Join(p.pinPath, "link_"+a.prog)
		if p.pinPath != "" {
			if l, err := link.LoadPinnedLink(pinned, nil); err == nil {
				if old, same := p.sameProgram(l, prog); same {
					p.links = append(p.links, l)
					p.progs = append(p.progs, old)
					continue
				}
				// The pinned program is another version: detach it first so
				// that no drop is counted twice (drops in between are missed).
				_ = l.Unpin()
				l.Close()
			}
		}
		l, err := a.do(prog)
		if err != nil {
			return fmt.Errorf("attaching %s: %w", a.prog, err)
		}
		if p.pinPath != "" {
			if err := l.Pin(pinned); err != nil {
				p.logger.Warn("cannot pin link; drops during a restart will be missed", "link", a.prog, "err", err)
			}
		}
		p.links = append(p.links, l)
		p.progs = append(p.progs, prog)
	}
	return nil
}

// sameProgram reports whether the pinned link runs a program identical to
// prog (same type and instructions) that counts into the same pinned maps,
// and returns that program.
func (p *Probe) sameProgram(l link.Link, prog *ebpf.Program) (*ebpf.Program, bool) {
	info, err := l.Info()
	if err != nil {
		return nil, false
	}
	old, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		return nil, false
	}
	oldInfo, err1 := old.Info()
	newInfo, err2 := prog.Info()
	if err1 != nil || err2 != nil || oldInfo.Tag != newInfo.Tag || oldInfo.Type != newInfo.Type {
		old.Close()
		return nil, false
	}
	oldMaps, ok := oldInfo.MapIDs()
	if !ok {
		old.Close()
		return nil, false
	}
	for name, m := range p.coll.Maps {
		if isDataSection(name) {
			continue
		}
		mi, err := m.Info()
		if err != nil {
			old.Close()
			return nil, false
		}
		id, _ := mi.ID()
		if !slices.Contains(oldMaps, id) {
			old.Close()
			return nil, false
		}
	}
	return old, true
}

func removeStaleLinks(dir string, keep []attachment, logger *slog.Logger) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		name := e.Name()
		if len(name) < 5 || name[:5] != "link_" || containsName(keep, name[5:]) {
			continue
		}
		logger.Info("detaching a drop program of another source", "link", name)
		if l, err := link.LoadPinnedLink(filepath.Join(dir, name), nil); err == nil {
			_ = l.Unpin()
			l.Close()
		} else {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}

func isDataSection(name string) bool {
	return len(name) > 0 && name[0] == '.'
}

// setEventRate sets the per-CPU event limit, keeping each CPU's count of
// refused events (it is exported as a counter).
func (p *Probe) setEventRate(perNode uint32) error {
	perCPU := perNode
	if n := uint32(runtime.NumCPU()); perNode > 0 && n > 0 {
		perCPU = max(1, (perNode+n-1)/n)
	}
	var windows []bpf.DropsEventWindow
	if err := p.rate.Lookup(uint32(0), &windows); err != nil {
		return fmt.Errorf("reading event rate state: %w", err)
	}
	for i := range windows {
		windows[i].Limit = perCPU
	}
	return p.rate.Put(uint32(0), windows)
}

// Close detaches and releases everything; pinned objects stay, so that the
// kernel keeps counting for the next agent. Use Unpin to remove them.
func (p *Probe) Close() error {
	p.closeObjects()
	return nil
}

func (p *Probe) closeObjects() {
	for _, l := range p.links {
		l.Close()
	}
	p.links = nil
	for _, prog := range p.progs {
		// Programs from pinned links are separate handles; ours close with the collection.
		if p.coll == nil || !isOwn(p.coll, prog) {
			prog.Close()
		}
	}
	p.progs = nil
	for _, maps := range []*[2]*ebpf.Map{&p.tables, &p.fronts} {
		for i, m := range maps {
			if m != nil {
				m.Close()
				maps[i] = nil
			}
		}
	}
	if p.coll != nil {
		p.coll.Close()
		p.coll = nil
	}
}

func isOwn(c *ebpf.Collection, prog *ebpf.Program) bool {
	for _, q := range c.Programs {
		if q == prog {
			return true
		}
	}
	return false
}

// Unpin removes every pinned object under path: the programs stop counting
// once no agent holds them. For uninstalling the agent from a node.
func Unpin(path string) error {
	return removePins(path)
}

func removePins(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ensureBPFFS makes dir a directory on a bpf filesystem, mounting bpffs at
// /sys/fs/bpf if nothing is mounted there.
func ensureBPFFS(dir string) error {
	parent := filepath.Dir(dir)
	if !isBPFFS(parent) && parent == "/sys/fs/bpf" {
		if err := unix.Mount("bpf", parent, "bpf", 0, ""); err != nil {
			return fmt.Errorf("%s is not a bpf filesystem and mounting one failed: %w", parent, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !isBPFFS(dir) {
		return fmt.Errorf("%s is not on a bpf filesystem", dir)
	}
	return nil
}

func isBPFFS(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.BPF_FS_MAGIC
}
