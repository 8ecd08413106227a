package prometheus

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	jsoniter "github.com/json-iterator/go"
)

// Range query answers are the bulk of what the Reader reads (a panel of 200
// series x 240 points is ~50,000 points), so they are decoded in one
// streaming pass with json-iterator's Iterator instead of encoding/json's
// reflection: the same library the official Go client (client_golang's API)
// decodes them with, so prometheus mode costs little over querying
// Prometheus directly (bench/prometheus_test.go).

var fastJSON = jsoniter.ConfigCompatibleWithStandardLibrary

// decodeEnvelope decodes the API's envelope, keeping data raw.
func decodeEnvelope(raw []byte) (*apiResponse, error) {
	it := fastJSON.BorrowIterator(raw)
	defer fastJSON.ReturnIterator(it)
	var ar apiResponse
	if it.WhatIsNext() != jsoniter.ObjectValue {
		return nil, errors.New("not a JSON object")
	}
	for f := it.ReadObject(); f != ""; f = it.ReadObject() {
		switch f {
		case "status":
			ar.Status = readString(it)
		case "data":
			ar.Data = append([]byte(nil), it.SkipAndReturnBytes()...)
		case "errorType":
			ar.ErrorType = readString(it)
		case "error":
			ar.Error = readString(it)
		case "warnings":
			ar.Warnings = readStrings(it)
		case "infos":
			ar.Infos = readStrings(it)
		default:
			it.Skip()
		}
	}
	if it.Error != nil && !errors.Is(it.Error, io.EOF) {
		return nil, it.Error
	}
	return &ar, nil
}

func readString(it *jsoniter.Iterator) string {
	if it.WhatIsNext() == jsoniter.NilValue {
		it.Skip()
		return ""
	}
	return it.ReadString()
}

func readStrings(it *jsoniter.Iterator) []string {
	if it.WhatIsNext() != jsoniter.ArrayValue {
		it.Skip()
		return nil
	}
	var out []string
	for it.ReadArray() {
		out = append(out, readString(it))
	}
	return out
}

// stream is one series of a matrix.
type stream struct {
	metric map[string]string
	times  []time.Time
	values []float64
}

// decodeMatrix decodes a range query's data: {"resultType":"matrix",
// "result":[{"metric":{...},"values":[[<unix seconds>,"<value>"],...]},...]}.
func decodeMatrix(raw []byte) ([]stream, error) {
	it := fastJSON.BorrowIterator(raw)
	defer fastJSON.ReturnIterator(it)
	var (
		resultType string
		out        []stream
		perr       error
	)
	for f := it.ReadObject(); f != ""; f = it.ReadObject() {
		switch f {
		case "resultType":
			resultType = readString(it)
		case "result":
			if it.WhatIsNext() != jsoniter.ArrayValue {
				it.Skip()
				continue
			}
			for it.ReadArray() {
				var s stream
				for g := it.ReadObject(); g != ""; g = it.ReadObject() {
					switch g {
					case "metric":
						s.metric = map[string]string{}
						for k := it.ReadObject(); k != ""; k = it.ReadObject() {
							s.metric[k] = readString(it)
						}
					case "values":
						for it.ReadArray() {
							if !it.ReadArray() {
								break
							}
							ts := it.ReadFloat64()
							if !it.ReadArray() {
								break
							}
							vs := it.ReadString()
							for it.ReadArray() { // a longer pair is malformed; skip the rest
								it.Skip()
							}
							v, err := strconv.ParseFloat(vs, 64)
							if err != nil && perr == nil {
								perr = fmt.Errorf("sample value %q: %w", vs, err)
							}
							s.times = append(s.times, time.UnixMilli(int64(math.Round(ts*1000))).UTC())
							s.values = append(s.values, v)
						}
					default:
						it.Skip()
					}
				}
				out = append(out, s)
			}
		default:
			it.Skip()
		}
	}
	if it.Error != nil && !errors.Is(it.Error, io.EOF) {
		return nil, it.Error
	}
	if perr != nil {
		return nil, perr
	}
	if resultType != "matrix" {
		return nil, fmt.Errorf("a %q result, want matrix", resultType)
	}
	return out, nil
}
