// Package kallsyms names kernel code addresses, such as the location a packet
// was dropped at, after the symbols in /proc/kallsyms.
//
// The symbol table (100k+ entries) is not kept in memory: each Resolve reads
// the file once for all addresses not yet cached. Drop locations are a small,
// stable set of call sites, so after start-up the file is rarely read again.
package kallsyms

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Unknown names an address no text symbol covers, or any address when the
// kernel hides addresses from this process (kptr_restrict).
const Unknown = "unknown"

// Resolver caches address -> function name.
type Resolver struct {
	path string

	mu    sync.Mutex
	cache map[uint64]string
}

// New returns a resolver reading path (normally /proc/kallsyms).
func New(path string) *Resolver {
	return &Resolver{path: path, cache: map[uint64]string{}}
}

// Resolve names every address in addrs; 0 is Unknown. It reads the symbol
// file only if some address is not cached yet.
func (r *Resolver) Resolve(addrs []uint64) (map[uint64]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var missing []uint64
	for _, a := range addrs {
		if _, ok := r.cache[a]; !ok && a != 0 {
			missing = append(missing, a)
		}
	}
	var err error
	if len(missing) > 0 {
		err = r.load(missing)
	}
	out := make(map[uint64]string, len(addrs))
	for _, a := range addrs {
		if name, ok := r.cache[a]; ok {
			out[a] = name
		} else {
			out[a] = Unknown
		}
	}
	return out, err
}

// load resolves sorted missing addresses in one pass over the symbol file.
func (r *Resolver) load(missing []uint64) error {
	f, err := os.Open(r.path)
	if err != nil {
		return fmt.Errorf("kallsyms: %w", err)
	}
	defer f.Close()
	found, err := resolve(f, missing)
	if err != nil {
		return err
	}
	for _, a := range missing {
		// Addresses that stay unknown are cached too, so a kernel that hides
		// its symbols is not re-read on every drain.
		if name, ok := found[a]; ok {
			r.cache[a] = name
		} else {
			r.cache[a] = Unknown
		}
	}
	return nil
}

// resolve finds, for each address, the text symbol with the greatest address
// not above it. /proc/kallsyms is not sorted, so every line is considered.
func resolve(rd io.Reader, addrs []uint64) (map[uint64]string, error) {
	addrs = slices.Clone(addrs)
	slices.Sort(addrs)
	best := make([]struct {
		addr uint64
		name string
	}, len(addrs))
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	hidden := true
	for sc.Scan() {
		line := sc.Text()
		// "ffffffff81000000 T _stext [module]"
		addrStr, rest, ok := strings.Cut(line, " ")
		if !ok || len(rest) < 3 {
			continue
		}
		kind := rest[0]
		if kind != 't' && kind != 'T' {
			continue
		}
		name := rest[2:]
		if i := strings.IndexAny(name, " \t"); i >= 0 {
			name = name[:i]
		}
		addr, err := strconv.ParseUint(addrStr, 16, 64)
		if err != nil {
			continue
		}
		if addr != 0 {
			hidden = false
		}
		// Every address >= addr may have this symbol as its best candidate.
		i, _ := slices.BinarySearch(addrs, addr)
		for j := i; j < len(addrs); j++ {
			if addr > best[j].addr {
				best[j].addr, best[j].name = addr, name
			} else {
				break
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kallsyms: %w", err)
	}
	out := map[uint64]string{}
	if hidden {
		return out, nil
	}
	for i, a := range addrs {
		if best[i].name != "" {
			out[a] = best[i].name
		}
	}
	return out, nil
}
