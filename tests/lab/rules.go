//go:build linux

package lab

import (
	"strconv"
	"strings"
	"testing"
)

// RuleCounter returns packets and bytes of the iptables (cmd "iptables") or
// ip6tables FORWARD rule with the given comment in the lab's node namespace:
// the kernel's own count, the ground truth of policy drop tests.
func (l *Lab) RuleCounter(t testing.TB, cmd, comment string) (uint64, uint64) {
	t.Helper()
	out := l.MustNodeRun(cmd, "-L", "FORWARD", "-v", "-n", "-x")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "/* "+comment+" */") {
			f := strings.Fields(line)
			p, err1 := strconv.ParseUint(f[0], 10, 64)
			b, err2 := strconv.ParseUint(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad %s line %q", cmd, line)
			}
			return p, b
		}
	}
	t.Fatalf("no %s rule %q:\n%s", cmd, comment, out)
	return 0, 0
}
