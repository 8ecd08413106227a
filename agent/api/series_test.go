package api

import (
	"encoding/json"
	"math"
	"testing"
)

// The fast path and encoding/json agree on every form, and other forms
// (spaces, reordered keys, bad values) are decoded or refused as
// encoding/json does.
func TestSampleUnmarshal(t *testing.T) {
	for _, in := range []string{
		`{"t":1700000000123,"v":42}`, `{"t":-5,"v":-1.5e-7}`, `{"t":0,"v":1.7976931348623157e+308}`,
		`{"v":3,"t":4}`, `{ "t": 1, "v": 2 }`, `{"t":1}`, `{"t":1,"v":2,"x":3}`,
		`{"t":1,"v":"NaN"}`, `{"t":1,"v":Inf}`, `{"t":1.5,"v":2}`, `{"t":1,"v":0x10}`, `{"t":1,"v":1_0}`, `[1,2]`,
	} {
		type plain Sample
		var want plain
		wantErr := json.Unmarshal([]byte(in), &want)
		var got Sample
		err := json.Unmarshal([]byte(in), &got)
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", in, err, wantErr)
			continue
		}
		if err == nil && (got.T != want.T || got.V != want.V && !(math.IsNaN(got.V) && math.IsNaN(want.V))) {
			t.Errorf("%s: %+v, encoding/json %+v", in, got, want)
		}
	}
}

func BenchmarkSeriesDecode(b *testing.B) {
	r := SeriesResponse{}
	for i := range 100 {
		s := Series{Labels: map[string]string{"__name__": "netlens_pod_drop_packets_total", "pod": "p"}}
		for j := range 60 {
			s.Samples = append(s.Samples, Sample{T: 1700000000000 + int64(j*15000), V: float64(i * j)})
		}
		r.Series = append(r.Series, s)
	}
	raw, _ := json.Marshal(r)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var out SeriesResponse
		if err := json.Unmarshal(raw, &out); err != nil {
			b.Fatal(err)
		}
	}
}
