package prometheus

import (
	"math"
	"testing"
	"time"
)

func TestDecodeMatrix(t *testing.T) {
	raw := []byte(`{"resultType":"matrix","result":[
		{"metric":{"pod":"a\"b\\c\n\u00fc","node":"n"},"values":[[1700000000.25,"1.5"],[1700000001,"NaN"],[1700000002,"+Inf"],[1700000003,"-Inf"]]},
		{"metric":{},"values":[]}]}`)
	m, err := decodeMatrix(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m[0].metric["pod"] != "a\"b\\c\nü" || len(m[0].values) != 4 || len(m[1].values) != 0 {
		t.Fatalf("%+v", m)
	}
	if !m[0].times[0].Equal(time.UnixMilli(1_700_000_000_250)) || m[0].values[0] != 1.5 || !math.IsNaN(m[0].values[1]) || !math.IsInf(m[0].values[2], 1) || !math.IsInf(m[0].values[3], -1) {
		t.Fatalf("%v %v", m[0].times, m[0].values)
	}
	for _, bad := range []string{
		`{"resultType":"vector","result":[]}`,
		`{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}`,
		`{"resultType":"matrix","result":[{"metric":{},"values":[[1,`,
	} {
		if _, err := decodeMatrix([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestDecodeEnvelope(t *testing.T) {
	ar, err := decodeEnvelope([]byte(`{"status":"error","errorType":"bad_data","error":"x","warnings":["w1","w2"],"infos":null,"data":{"a":[1]}}`))
	if err != nil || ar.Status != "error" || ar.ErrorType != "bad_data" || ar.Error != "x" || len(ar.Warnings) != 2 || string(ar.Data) != `{"a":[1]}` {
		t.Fatalf("%+v %v", ar, err)
	}
	for _, bad := range []string{"404 page not found", "<html>", `[1]`, `{"status":`} {
		if ar, err := decodeEnvelope([]byte(bad)); err == nil && ar.Status != "" {
			t.Errorf("%q decoded as %+v", bad, ar)
		}
	}
}
