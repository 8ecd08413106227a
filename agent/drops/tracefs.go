//go:build linux

package drops

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"golang.org/x/sys/unix"
)

var tracefsDirs = []string{"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}

// kfreeSkbFormat returns the format description of skb:kfree_skb, mounting
// tracefs at /sys/kernel/tracing when no tracefs is mounted (needs CAP_SYS_ADMIN).
func kfreeSkbFormat() (string, error) {
	const rel = "/events/skb/kfree_skb/format"
	for _, d := range tracefsDirs {
		if b, err := os.ReadFile(d + rel); err == nil {
			return string(b), nil
		}
	}
	if err := unix.Mount("nodev", tracefsDirs[0], "tracefs", 0, ""); err != nil {
		return "", fmt.Errorf("no tracefs with events/skb/kfree_skb, and mounting one at %s failed: %w", tracefsDirs[0], err)
	}
	b, err := os.ReadFile(tracefsDirs[0] + rel)
	if err != nil {
		return "", fmt.Errorf("tracefs mounted but: %w", err)
	}
	return string(b), nil
}

// tracepointFields are byte offsets in the skb:kfree_skb record.
type tracepointFields struct {
	location, protocol, reason uint32 // reason 0: absent (kernels before 5.17)
}

var fieldLine = regexp.MustCompile(`field:[^;]*?\b(\w+);\s*offset:(\d+);\s*size:(\d+);`)

func parseTracepointFields(format string) (tracepointFields, error) {
	var f tracepointFields
	sizes := map[string]int{}
	for _, m := range fieldLine.FindAllStringSubmatch(format, -1) {
		off, _ := strconv.ParseUint(m[2], 10, 32)
		size, _ := strconv.Atoi(m[3])
		sizes[m[1]] = size
		switch m[1] {
		case "location":
			f.location = uint32(off)
		case "protocol":
			f.protocol = uint32(off)
		case "reason":
			f.reason = uint32(off)
		}
	}
	if sizes["location"] != 8 || sizes["protocol"] != 2 {
		return f, errors.New("skb:kfree_skb format lacks an 8-byte location or a 2-byte protocol field")
	}
	if f.reason != 0 && sizes["reason"] != 4 {
		return f, fmt.Errorf("skb:kfree_skb reason field has size %d, want 4", sizes["reason"])
	}
	return f, nil
}
