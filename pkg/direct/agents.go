package direct

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netlens/netlens/agent/api"
)

// agentID is what an agent says it is: its node name and the boot id of its
// machine. One agent can be reachable at several URLs (a static URL and the
// DNS name, 127.0.0.1 and localhost); it is asked and counted once. Agents
// are told apart by what they are, not by where they are reached.
type agentID struct {
	node, boot string
}

func idOf(st api.Status) agentID { return agentID{node: st.Node, boot: st.BootID} }

// answer is one agent's part of a fan-out.
type answer struct {
	id agentID
	// urls are the agent's URLs, sorted: where it answered (the first is
	// asked first), or, for an agent that did not answer, where it failed.
	urls []string
	// url is the URL asked last.
	url    string
	status api.Status
	err    error
	// skipped: its node is not among the node filter's.
	skipped bool
	// unreachableAt are URLs of an agent that answered elsewhere.
	unreachableAt []urlErr

	series api.SeriesResponse
	groups []Group // the series evaluated (queries)
	events []nodeEvent
}

type urlErr struct {
	url string
	err error
}

// name is how notices name the agent: its host:port, or every one of them.
func (a answer) name() string {
	names := make([]string, len(a.urls))
	for i, u := range a.urls {
		names[i] = agentName(u)
	}
	return joinAnd(names)
}

// fanout is the answers of a fan-out, one per agent, and what was noticed
// about the agents' identities.
type fanout struct {
	answers []answer
	notices []string
}

// fanOut asks every agent once, concurrently: first the status of every URL
// (cached up to statusMaxAge), which identifies the agents; then, for each
// agent whose node the node filter keeps, fn at its first URL (at the next
// one if the first cannot be reached), then post (if any) on a success, in
// the agent's goroutine. Each request is bounded by the per-agent timeout.
func (r *Reader) fanOut(ctx context.Context, urls []string, nodes []string, statusMaxAge time.Duration,
	fn func(ctx context.Context, a *answer) error, post func(*answer)) fanout {
	r.forgetAgentsBut(urls)
	sts := make([]answer, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Go(func() {
			actx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			st, err := r.status(actx, u, statusMaxAge)
			sts[i] = answer{id: idOf(st), urls: []string{u}, url: u, status: st, err: r.timeoutErr(ctx, err)}
		})
	}
	wg.Wait()
	out := r.identify(sts)
	for i := range out.answers {
		a := &out.answers[i]
		if a.err != nil {
			continue
		}
		if len(nodes) > 0 && !slices.Contains(nodes, a.status.Node) {
			a.skipped = true
			continue
		}
		if fn == nil {
			continue
		}
		wg.Go(func() {
			for _, u := range a.urls {
				actx, cancel := context.WithTimeout(ctx, r.timeout)
				a.url = u
				err := fn(actx, a)
				cancel()
				a.err = r.timeoutErr(ctx, err)
				if err == nil || !unreachable(err) {
					break
				}
			}
			if a.err == nil && post != nil {
				post(a)
			}
		})
	}
	wg.Wait()
	return out
}

// timeoutErr words the per-agent timeout running out.
func (r *Reader) timeoutErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return slowError{r.timeout}
	}
	return err
}

// unreachable reports whether err is about reaching the agent, so that
// another URL of it may work: not its answer, and not its slowness (another
// URL would cost another timeout for the same slow agent).
func unreachable(err error) bool {
	var se *api.StatusError
	var rl *RateLimitedError
	var ne net.Error
	return !errors.As(err, &se) && !errors.As(err, &rl) && !errors.Is(err, context.Canceled) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.As(err, new(slowError)) && !(errors.As(err, &ne) && ne.Timeout())
}

// slowError is an agent that did not answer within d: slow, not unreachable.
type slowError struct{ d time.Duration }

func (e slowError) Error() string { return fmt.Sprintf("no answer within %s", e.d) }

// rateLimited reports whether the agent rate limited the data source: a
// RateLimitedError after retries, or a 429 of a request not retried.
func rateLimited(err error) bool {
	var rl *RateLimitedError
	var se *api.StatusError
	return errors.As(err, &rl) || (errors.As(err, &se) && se.Code == http.StatusTooManyRequests)
}

// identify groups the statuses of the URLs (one answer each, in URL order)
// into agents. A URL that failed is put with the agent it last answered
// as, when known: if that agent answered elsewhere it is a notice, not an
// agent down; else URLs that failed alike are one agent down.
func (r *Reader) identify(sts []answer) fanout {
	var out fanout
	byID := map[agentID]int{}
	for _, s := range sts {
		if s.err != nil {
			continue
		}
		if i, ok := byID[s.id]; ok {
			out.answers[i].urls = append(out.answers[i].urls, s.url)
			continue
		}
		byID[s.id] = len(out.answers)
		out.answers = append(out.answers, s)
	}
	downByID := map[agentID]int{}
	for _, s := range sts {
		if s.err == nil {
			continue
		}
		known, ok := r.known(s.url)
		if ok {
			i, up := byID[known]
			if !up {
				// The machine rebooted since this URL last answered (a new
				// boot id at the URLs that answer now): the same agent.
				i, up = soleAgentOfNode(out.answers, known.node)
			}
			if up {
				out.answers[i].unreachableAt = append(out.answers[i].unreachableAt, urlErr{s.url, s.err})
				continue
			}
			if i, seen := downByID[known]; seen {
				out.answers[i].urls = append(out.answers[i].urls, s.url)
				continue
			}
			downByID[known] = len(out.answers)
		}
		s.id = known
		out.answers = append(out.answers, s)
	}
	for _, a := range out.answers {
		if a.err != nil {
			continue
		}
		if len(a.urls) > 1 {
			n := fmt.Sprintf("agent %s reachable at URLs %s: counted once", a.id.node, a.name())
			if a.id.boot == "" {
				n += " (it reports no boot id: agents are told apart by node name only)"
			}
			out.notices = append(out.notices, n)
		}
		for _, u := range a.unreachableAt {
			out.notices = append(out.notices, fmt.Sprintf("agent %s answered at %s but not at %s: %s", a.id.node, agentName(a.urls[0]), agentName(u.url), describeErr(u.err)))
		}
	}
	out.notices = append(out.notices, nameClashes(out.answers)...)
	return out
}

// soleAgentOfNode is the index of the one agent that answered as node, if
// exactly one did.
func soleAgentOfNode(answers []answer, node string) (int, bool) {
	found := -1
	for i, a := range answers {
		if a.err == nil && a.id.node == node {
			if found >= 0 {
				return 0, false
			}
			found = i
		}
	}
	return found, found >= 0
}

// nameClashes says when different machines (boot ids) give one node name:
// a misconfiguration (--node-name) that would silently mix their series.
// They are kept apart as agents, but their series share the node label.
func nameClashes(answers []answer) []string {
	byNode := map[string][]answer{}
	var order []string
	for _, a := range answers {
		if a.err != nil {
			continue
		}
		if _, ok := byNode[a.id.node]; !ok {
			order = append(order, a.id.node)
		}
		byNode[a.id.node] = append(byNode[a.id.node], a)
	}
	var out []string
	for _, node := range order {
		as := byNode[node]
		if len(as) < 2 {
			continue
		}
		var which []string
		for _, a := range as {
			boot := a.id.boot
			if len(boot) > 8 {
				boot = boot[:8]
			}
			which = append(which, fmt.Sprintf("%s (boot id %s)", a.name(), boot))
		}
		out = append(out, fmt.Sprintf("%d different machines report the node name %q: %s. Each is counted, but their series add up under that one node name: give each agent its own --node-name",
			len(as), node, joinAnd(which)))
	}
	return out
}

// forgetAgentsBut drops the statuses of URLs no longer among the agents
// (DNS discovery moves on with pod IPs), so that a reused IP is not named
// by the agent it was before and gone agents do not stay in memory.
func (r *Reader) forgetAgentsBut(urls []string) {
	current := make(map[string]bool, len(urls))
	for _, u := range urls {
		current[u] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for base := range r.statuses {
		if !current[base] {
			delete(r.statuses, base)
		}
	}
}

// known is the identity an agent had when it last answered at base.
func (r *Reader) known(base string) (agentID, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.statuses[base]
	return idOf(c.st), ok
}

// joinAnd lists names: "a", "a and b", "a, b and c".
func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// failures describes the agents that failed, e.g. "2 of 5 agents
// unreachable: 10.0.0.4:10095: connection refused; ...", and those that
// rate limited the data source, apart. ok is the number that answered.
func failures(answers []answer) (msg string, failed, ok int) {
	var down, limited []string
	for _, a := range answers {
		switch {
		case a.err == nil:
			ok++
		case rateLimited(a.err):
			limited = append(limited, agentName(a.url)+": "+describeErr(a.err))
		default:
			down = append(down, a.name()+": "+describeErr(a.err))
		}
	}
	failed = len(down) + len(limited)
	noun := "agents"
	if len(answers) == 1 {
		noun = "agent"
	}
	var parts []string
	if len(down) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d %s unreachable: %s", len(down), len(answers), noun, strings.Join(down, "; ")))
	}
	if len(limited) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d %s rate limited this data source: %s. Raise the agents' --api-rate-limit (docs/api.md)",
			len(limited), len(answers), noun, strings.Join(limited, "; ")))
	}
	return strings.Join(parts, ". "), failed, ok
}

// describeErr says in a few words why an agent did not answer.
func describeErr(err error) string {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return rl.Error()
	}
	var se *api.StatusError
	if errors.As(err, &se) {
		switch se.Code {
		case http.StatusUnauthorized:
			return "agent token rejected (401)"
		case http.StatusForbidden:
			return "access forbidden (403)"
		}
		if se.Message != "" {
			return fmt.Sprintf("agent answered %d: %s", se.Code, se.Message)
		}
		return fmt.Sprintf("agent answered %d", se.Code)
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, context.Canceled):
		return "request canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return "timed out"
		}
		err = ue.Err
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

func isAuthErr(err error) bool {
	var se *api.StatusError
	return errors.As(err, &se) && (se.Code == http.StatusUnauthorized || se.Code == http.StatusForbidden)
}
