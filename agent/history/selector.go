package history

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// MatchType is how a matcher compares a label's value.
type MatchType string

const (
	MatchEqual     MatchType = "="
	MatchNotEqual  MatchType = "!="
	MatchRegexp    MatchType = "=~"
	MatchNotRegexp MatchType = "!~"
)

// Matcher selects series by one label, as in PromQL ("" is the value of a
// label the series does not have).
type Matcher struct {
	Name  string
	Type  MatchType
	Value string
	re    *regexp.Regexp
}

// Matches reports whether v satisfies the matcher.
func (m Matcher) Matches(v string) bool {
	switch m.Type {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re.MatchString(v)
	case MatchNotRegexp:
		return !m.re.MatchString(v)
	}
	return false
}

// maxSelector bounds a selector's length; the history holds the agent's own
// series, a real selector is short.
const maxSelector = 4096

// ParseSelector parses a PromQL series selector: a metric name, label
// matchers in braces, or both (`netlens_drop_packets_total{reason=~"NO_.*"}`).
// Regular expressions are anchored, as in PromQL. At least one matcher must
// not match the empty string, so that a selector cannot ask for everything by
// accident.
func ParseSelector(s string) ([]Matcher, error) {
	if len(s) > maxSelector {
		return nil, fmt.Errorf("selector longer than %d bytes", maxSelector)
	}
	p := &selParser{s: strings.TrimSpace(s)}
	var ms []Matcher
	if name := p.ident(); name != "" {
		ms = append(ms, Matcher{Name: "__name__", Type: MatchEqual, Value: name})
	}
	p.space()
	if p.peek() == '{' {
		p.pos++
		for {
			p.space()
			if p.peek() == '}' {
				p.pos++
				break
			}
			m, err := p.matcher()
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
			p.space()
			switch p.peek() {
			case ',':
				p.pos++
			case '}':
			default:
				return nil, p.errorf("want , or } after a matcher")
			}
		}
	}
	p.space()
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:])
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("empty selector: give a metric name or label matchers")
	}
	for _, m := range ms {
		if !m.Matches("") {
			return ms, nil
		}
	}
	return nil, fmt.Errorf("selector %q matches the empty string in every matcher: add a metric name or a non-empty matcher", s)
}

type selParser struct {
	s   string
	pos int
}

func (p *selParser) errorf(format string, args ...any) error {
	return fmt.Errorf("selector position %d: %s", p.pos+1, fmt.Sprintf(format, args...))
}

func (p *selParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *selParser) space() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n') {
		p.pos++
	}
}

// ident reads a metric or label name ([a-zA-Z_:][a-zA-Z0-9_:]*; colons
// only matter for metric names, which Netlens does not use).
func (p *selParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

func (p *selParser) matcher() (Matcher, error) {
	name := p.ident()
	if name == "" {
		return Matcher{}, p.errorf("want a label name")
	}
	p.space()
	var t MatchType
	switch {
	case strings.HasPrefix(p.s[p.pos:], "=~"):
		t = MatchRegexp
	case strings.HasPrefix(p.s[p.pos:], "!~"):
		t = MatchNotRegexp
	case strings.HasPrefix(p.s[p.pos:], "!="):
		t = MatchNotEqual
	case strings.HasPrefix(p.s[p.pos:], "="):
		t = MatchEqual
	default:
		return Matcher{}, p.errorf("want =, !=, =~ or !~ after label %s", name)
	}
	p.pos += len(t)
	p.space()
	v, err := p.quoted()
	if err != nil {
		return Matcher{}, err
	}
	m := Matcher{Name: name, Type: t, Value: v}
	if t == MatchRegexp || t == MatchNotRegexp {
		if m.re, err = regexp.Compile("^(?:" + v + ")$"); err != nil {
			return Matcher{}, fmt.Errorf("label %s: bad regular expression: %w", name, err)
		}
	}
	return m, nil
}

// quoted reads a "double-quoted" string with Go escapes (as PromQL's).
func (p *selParser) quoted() (string, error) {
	const q = '"'
	if p.peek() != q {
		return "", p.errorf("want a double-quoted value")
	}
	end := p.pos + 1
	for ; end < len(p.s); end++ {
		if p.s[end] == '\\' {
			end++
			continue
		}
		if p.s[end] == q {
			break
		}
	}
	if end >= len(p.s) {
		return "", p.errorf("unterminated string")
	}
	v, err := strconv.Unquote(p.s[p.pos : end+1])
	if err != nil {
		return "", p.errorf("bad string %s: %v", p.s[p.pos:end+1], err)
	}
	p.pos = end + 1
	return v, nil
}
