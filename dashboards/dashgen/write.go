package dashgen

//go:generate go run ../gen

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RepoDir is the repository's dashboards/ directory, found from the working
// directory upwards (go.mod of module github.com/netlens/netlens).
func RepoDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/netlens/netlens\n") {
			return filepath.Join(dir, "dashboards"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the netlens repository")
		}
		dir = parent
	}
}

// Write renders every dashboard into dir (dir/drops.json,
// dir/prometheus/drops.json, ...) and returns the paths written, sorted.
func Write(dir string) ([]string, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	var written []string
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
		written = append(written, p)
	}
	slices.Sort(written)
	return written, nil
}
