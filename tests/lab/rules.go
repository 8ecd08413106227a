//go:build linux

package lab

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// RuleCounter returns packets and bytes of the iptables (cmd "iptables") or
// ip6tables FORWARD rule with the given comment in the lab's node namespace:
// the kernel's own count, the ground truth of policy drop tests.
func (l *Lab) RuleCounter(t testing.TB, cmd, comment string) (uint64, uint64) {
	t.Helper()
	p, b, err := l.ReadRuleCounter(cmd, comment)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// ReadRuleCounter is RuleCounter returning its error, for code that must not
// fail a test from its own goroutine (an HTTP handler, say).
func (l *Lab) ReadRuleCounter(cmd, comment string) (uint64, uint64, error) {
	out, err := l.NodeRun(cmd, "-L", "FORWARD", "-v", "-n", "-x")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "/* "+comment+" */") {
			f := strings.Fields(line)
			p, err1 := strconv.ParseUint(f[0], 10, 64)
			b, err2 := strconv.ParseUint(f[1], 10, 64)
			if err1 != nil || err2 != nil {
				return 0, 0, fmt.Errorf("bad %s line %q", cmd, line)
			}
			return p, b, nil
		}
	}
	return 0, 0, fmt.Errorf("no %s rule %q:\n%s", cmd, comment, out)
}
