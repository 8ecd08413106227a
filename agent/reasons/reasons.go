// Package reasons is Netlens's drop reason catalog: for each kernel drop
// reason, what it means, what likely caused it and what to check. The agent
// API, the data source and the UI all explain reasons from this one file, and
// every reason the catalog lacks with the one generic explanation of Generic.
package reasons

import (
	_ "embed"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Entry explains one drop reason.
type Entry struct {
	// Reason is the kernel's name without SKB_DROP_REASON_ (NO_SOCKET), or a
	// Netlens pseudo reason (UNKNOWN, ACL_DROP, ENDPOINT_DROP).
	Reason  string   `yaml:"reason" json:"reason"`
	Meaning string   `yaml:"meaning" json:"meaning"`
	Cause   string   `yaml:"cause" json:"cause"`
	Check   []string `yaml:"check" json:"check"`
	// NotADrop marks NOT_DROPPED_YET and CONSUMED.
	NotADrop bool `yaml:"not_a_drop,omitempty" json:"notADrop,omitempty"`
	// Netlens marks reasons Netlens reports that are not kernel enum values.
	Netlens bool `yaml:"netlens,omitempty" json:"netlens,omitempty"`
	// RemovedIn is the kernel release that renamed or removed an old name.
	RemovedIn string `yaml:"removed_in,omitempty" json:"removedIn,omitempty"`
	// Generic marks the explanation of a reason the catalog does not know
	// (Generic): the kernel is newer than this catalog. The UI shows it as such.
	Generic bool `yaml:"-" json:"generic,omitempty"`
}

var (
	loadOnce sync.Once
	catalog  []Entry
	byName   map[string]Entry
	loadErr  error
)

func load() {
	var doc struct {
		Reasons []Entry `yaml:"reasons"`
	}
	if err := yaml.Unmarshal(catalogYAML, &doc); err != nil {
		loadErr = fmt.Errorf("reason catalog: %w", err)
		return
	}
	byName = make(map[string]Entry, len(doc.Reasons))
	for _, e := range doc.Reasons {
		if _, dup := byName[e.Reason]; dup {
			loadErr = fmt.Errorf("reason catalog: %s appears twice", e.Reason)
			return
		}
		byName[e.Reason] = e
	}
	catalog = doc.Reasons
}

// All returns every entry in catalog order.
func All() ([]Entry, error) {
	loadOnce.Do(load)
	return append([]Entry(nil), catalog...), loadErr
}

// Lookup returns the entry for a reason name as Netlens reports it.
func Lookup(reason string) (Entry, bool) {
	loadOnce.Do(load)
	e, ok := byName[reason]
	return e, ok
}

// Explain returns the catalog's entry for reason or, for a reason the catalog
// does not know, its generic explanation.
func Explain(reason string) Entry {
	if e, ok := Lookup(reason); ok {
		return e
	}
	return Generic(reason)
}

// Generic is the explanation of a reason the catalog does not know: the
// kernel is newer than this Netlens version (or carries a vendor reason), so
// it says how to find where the kernel raises the reason and what it does.
// Every part of Netlens explains unknown reasons with this one text.
func Generic(reason string) Entry {
	return Entry{
		Reason:  reason,
		Generic: true,
		Meaning: "The node's kernel dropped packets with reason " + reason + ", which is not in the catalog of this Netlens version: the kernel is newer than the catalog, or carries a backported or vendor reason. The name usually says which part of the kernel dropped the packets (a protocol, a device type, a limit).",
		Cause:   "Unknown to this catalog. The kernel function that dropped the packets (the location label) and the kernel source of the node's release tell what the check is and why it failed.",
		Check: []string{
			"Where it drops: `sum by (node, location, protocol) (rate(netlens_drop_packets_total{reason=\"" + reason + "\"}[5m]))`; location is the kernel function that dropped the packets.",
			"Which pods: `sum by (namespace, pod, direction) (rate(netlens_pod_drop_packets_total{reason=\"" + reason + "\"}[5m]))`, or the live drops on the node: `netlens-agent observe --reason " + reason + "`.",
			"What it means: in the kernel source of the node's release (`uname -r`), " + definedIn(reason) + " describes it, and searching the source for that name finds the checks that raise it.",
			"Upgrade Netlens: a newer catalog may explain it. `netlens_agent_uncatalogued_drop_reasons` and the uncataloguedReasons of `GET /api/v1/status` show what this agent's catalog lacks.",
		},
	}
}

// definedIn says where the kernel source defines reason: subsystems (6.4+)
// name their reasons in headers of their own.
func definedIn(reason string) string {
	switch {
	case strings.HasPrefix(reason, "OVS_DROP_"):
		return "the comment on " + reason + " in net/openvswitch/drop.h"
	case strings.HasPrefix(reason, "RX_DROP_"):
		return "the comment on " + reason + " in net/mac80211/drop.h"
	case strings.HasPrefix(reason, "SUBSYS_"):
		return "the subsystem (enum skb_drop_reason_subsys in include/net/dropreason.h) and the reason number after its name, in that subsystem's drop reason enum,"
	}
	return "the comment on SKB_DROP_REASON_" + reason + " in include/net/dropreason-core.h"
}

// Uncatalogued returns the names the catalog has no entry for, sorted and
// without duplicates; nil when it knows them all.
func Uncatalogued(names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := Lookup(n); !ok && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// MaxNames bounds the reasons one request may ask to explain.
const MaxNames = 256

// ParseNames reads the reason names of a request's `reason` parameters
// (repeated or comma-separated), in order and without duplicates. A name is
// what the kernel and Netlens report: upper-case letters, digits and
// underscores, at most 128 characters.
func ParseNames(values []string) ([]string, error) {
	var names []string
	for _, v := range values {
		for _, n := range strings.Split(v, ",") {
			n = strings.TrimSpace(n)
			if n == "" || slices.Contains(names, n) {
				continue
			}
			if !validName(n) {
				return nil, fmt.Errorf("reason %q: want a drop reason name such as NO_SOCKET (A-Z, 0-9 and _, at most 128 characters)", truncate(n, 64))
			}
			names = append(names, n)
			if len(names) > MaxNames {
				return nil, fmt.Errorf("reason: at most %d names per request", MaxNames)
			}
		}
	}
	return names, nil
}

// Answer is what the reasons endpoints of the agent API and the data source
// return for a request's `reason` parameters (ParseNames): the explanation of
// exactly the names asked, in order, or, when none are, the catalog plus the
// generic explanation of each of kernel's reasons it lacks (kernel may be
// nil). status is the HTTP status to answer with: 400 for a bad name, 500 if
// the catalog cannot be read.
func Answer(params []string, kernel []string) (entries []Entry, status int, err error) {
	names, err := ParseNames(params)
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	if names != nil {
		return ExplainAll(names), http.StatusOK, nil
	}
	all, err := All()
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	for _, n := range Uncatalogued(kernel) {
		all = append(all, Generic(n))
	}
	return all, http.StatusOK, nil
}

// ExplainAll explains each name (Explain), in order.
func ExplainAll(names []string) []Entry {
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		out = append(out, Explain(n))
	}
	return out
}

func validName(n string) bool {
	if len(n) > 128 {
		return false
	}
	for _, c := range n {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
