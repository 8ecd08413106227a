package models

import (
	"strings"
	"testing"
)

// A bare query defaults to drops, packets, rate.
func TestParseQueryDefaults(t *testing.T) {
	q, err := ParseQuery([]byte(`{"refId":"A"}`))
	if err != nil {
		t.Fatal(err)
	}
	if q.QueryType != QueryDrops || q.Value != "packets" || q.Rate == nil || !*q.Rate {
		t.Fatalf("defaults not applied: %+v", q)
	}
}

// Filter values are kept byte for byte, hostile or not: escaping is the query
// translator's job, and it needs the original value.
func TestParseQueryKeepsFilterValues(t *testing.T) {
	hostile := `a"} or vector(1) or {x="`
	q, err := ParseQuery([]byte(`{"queryType":"podDrops","groupBy":["namespace","pod"],"filters":{"pod":["` + strings.ReplaceAll(hostile, `"`, `\"`) + `"]},"value":"bytes","rate":false}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Filters.Pod) != 1 || q.Filters.Pod[0] != hostile || q.Value != "bytes" || *q.Rate {
		t.Fatalf("got %+v", q)
	}
}

func TestParseQueryErrors(t *testing.T) {
	cases := map[string]string{
		`{`:                                "not valid JSON",
		`{"queryType":"flows"}`:            `unknown query type "flows"`,
		`{"value":"frames"}`:               `value "frames" is not supported`,
		`{"groupBy":["pod) or up by (x"]}`: `cannot group by "pod) or up by (x"`,
		`{"queryType":"promql"}`:           "promql query has no expression",
	}
	for in, want := range cases {
		if _, err := ParseQuery([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseQuery(%s) error = %v, want %q", in, err, want)
		}
	}
}
