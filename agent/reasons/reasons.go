// Package reasons is Netlens's drop reason catalog: for each kernel drop
// reason, what it means, what likely caused it and what to check. The agent
// API, the data source and the UI all explain reasons from this one file.
package reasons

import (
	_ "embed"
	"fmt"
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
