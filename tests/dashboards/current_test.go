package dashboards_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netlens/netlens/dashboards/dashgen"
	"github.com/netlens/netlens/tests/testenv"
)

// The committed dashboards are exactly what the generator writes: running
// `go run ./dashboards/gen` into an empty directory gives the same files,
// byte for byte, and dashboards/ holds no JSON the generator does not write
// (a hand-edited or stale file fails here).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./dashboards/gen", "-out", out)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./dashboards/gen: %v\n%s", err, b)
	}
	var generated []string
	err := filepath.WalkDir(out, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			rel, _ := filepath.Rel(out, p)
			generated = append(generated, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(generated)
	committed := committedFiles(t)
	if !slices.Equal(generated, committed) {
		t.Errorf("dashboards/ holds %v, the generator writes %v: run go generate ./dashboards/...", committed, generated)
	}
	for _, rel := range generated {
		want, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		got, err := os.ReadFile(filepath.Join(dashboardsDir(t), filepath.FromSlash(rel)))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("dashboards/%s is not what the generator writes (first difference at byte %d): run go generate ./dashboards/...",
				rel, firstDiff(got, want))
		}
	}
	// The library the command wraps writes the same (tests below use it).
	files, err := dashgen.Files()
	if err != nil {
		t.Fatal(err)
	}
	for rel, b := range files {
		disk, _ := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
		if !bytes.Equal(b, disk) {
			t.Errorf("dashgen.Files()[%q] differs from the command's output", rel)
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// go generate ./dashboards/... is the documented way to regenerate: the
// directive is there and runs the generator.
func TestGoGenerateDirective(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "dashboards", "dashgen", "write.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "//go:generate go run ../gen\n") {
		t.Fatal("dashboards/dashgen/write.go has no //go:generate go run ../gen directive")
	}
}

// Every dashboard exists in every flavour, with the same panel ids where the
// flavour shows the panel, stable uids and the titles the app's pages link to.
func TestFlavoursHaveTheSameDashboards(t *testing.T) {
	byFlavour := map[string]map[string]dashboardFile{}
	for _, f := range loadDashboards(t) {
		if byFlavour[f.Flavour.Name] == nil {
			byFlavour[f.Flavour.Name] = map[string]dashboardFile{}
		}
		byFlavour[f.Flavour.Name][filepath.Base(f.Rel)] = f
	}
	wantUIDs := map[string]string{"drops.json": "netlens-drops", "nic.json": "netlens-nic", "overview.json": "netlens-overview"}
	wantTitles := map[string]string{"drops.json": "Netlens / Drops", "nic.json": "Netlens / NIC receive pressure", "overview.json": "Netlens / Cluster overview"}
	for _, fl := range dashgen.Flavours {
		got := byFlavour[fl.Name]
		if len(got) != len(wantUIDs) {
			t.Errorf("flavour %s has %d dashboards, want %d", fl.Name, len(got), len(wantUIDs))
		}
		for file, uid := range wantUIDs {
			f, ok := got[file]
			if !ok {
				t.Errorf("flavour %s has no %s", fl.Name, file)
				continue
			}
			if f.D.UID != uid+fl.UIDSuffix || f.D.Title != wantTitles[file]+fl.TitleSuffix {
				t.Errorf("%s: uid %q title %q, want %q %q", f.Rel, f.D.UID, f.D.Title, uid+fl.UIDSuffix, wantTitles[file]+fl.TitleSuffix)
			}
			if f.D.ID != nil {
				t.Errorf("%s: id must be null (Grafana assigns it)", f.Rel)
			}
			app := byFlavour["app"][file]
			for _, p := range f.D.Panels {
				if p.ID == 100 && fl.Schema == "retina" {
					continue // the AKS flavour's note on what is left out
				}
				i := slices.IndexFunc(app.D.Panels, func(q panel) bool { return q.ID == p.ID })
				// The app shows the reasons in its own panel; the others in a table.
				sameType := func(app, other string) bool {
					return app == other || app == dashgen.ReasonsPanel && other == "table"
				}
				if i < 0 || app.D.Panels[i].Title != p.Title || !sameType(app.D.Panels[i].Type, p.Type) {
					t.Errorf("%s: panel %d %q has no twin in the app's %s", f.Rel, p.ID, p.Title, file)
				}
			}
			if fl.Schema != "retina" && len(f.D.Panels) != len(app.D.Panels) {
				t.Errorf("%s: %d panels, the app's has %d: only the AKS flavour may leave panels out", f.Rel, len(f.D.Panels), len(app.D.Panels))
			}
		}
	}
}
