package plugin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/netlens/netlens/agent/reasons"
)

func getReasons(t *testing.T, target string) (int, []reasons.Entry, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	explainReasons(rec, httptest.NewRequest(http.MethodGet, target, nil))
	var entries []reasons.Entry
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &entries); err != nil {
			t.Fatalf("%s: %v", target, err)
		}
	}
	return rec.Code, entries, rec.Body.String()
}

// /reasons is the catalog; with reason= it explains exactly the reasons
// asked for, generically those the catalog lacks, as the app needs for a
// reason of a kernel newer than the catalog.
func TestReasonsResource(t *testing.T) {
	catalog, _ := reasons.All()
	if code, all, body := getReasons(t, "/reasons"); code != http.StatusOK || len(all) != len(catalog) {
		t.Fatalf("/reasons: %d, %d entries: %.200s", code, len(all), body)
	}

	const synthetic = "NETLENS_TEST_NEWER_THAN_THE_CATALOG"
	code, got, body := getReasons(t, "/reasons?reason=NO_SOCKET,"+synthetic)
	if code != http.StatusOK || len(got) != 2 {
		t.Fatalf("%d %s", code, body)
	}
	if want, _ := reasons.Lookup("NO_SOCKET"); got[0].Reason != "NO_SOCKET" || got[0].Generic || got[0].Meaning != want.Meaning {
		t.Errorf("NO_SOCKET: %+v", got[0])
	}
	if want := reasons.Generic(synthetic); !got[1].Generic || got[1].Reason != synthetic || got[1].Meaning != want.Meaning || len(got[1].Check) != len(want.Check) {
		t.Errorf("%s: %+v, want the generic explanation", synthetic, got[1])
	}

	for target, want := range map[string]string{
		"/reasons?reason=no-such":    "drop reason name",
		"/reasons?reasons=NO_SOCKET": `unknown parameter "reasons"`,
	} {
		code, _, body := getReasons(t, target)
		var e struct{ Error string }
		if code != http.StatusBadRequest || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, want) {
			t.Errorf("%s: %d %s, want a 400 containing %q", target, code, body, want)
		}
	}
}
