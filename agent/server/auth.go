package server

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// TokenFile is a bearer token kept in a file (a mounted Kubernetes Secret):
// it is re-read when the file changes, so the token rotates without a restart.
type TokenFile struct {
	path string

	mu      sync.Mutex
	token   []byte
	mod     time.Time
	size    int64
	checked time.Time
}

// tokenRecheck is how often the file is looked at, at most.
const tokenRecheck = time.Second

// NewTokenFile reads the token at path; a missing, unreadable or empty file
// is an error.
func NewTokenFile(path string) (*TokenFile, error) {
	t := &TokenFile{path: path}
	if err := t.load(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *TokenFile) load() error {
	fi, err := os.Stat(t.path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	raw, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	tok := bytes.TrimSpace(raw)
	if len(tok) == 0 {
		return fmt.Errorf("token file %s is empty", t.path)
	}
	t.token, t.mod, t.size = tok, fi.ModTime(), fi.Size()
	return nil
}

// current returns the token, re-reading the file when it changed. A file
// that became unreadable or empty keeps the last good token (and says why).
func (t *TokenFile) current() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var err error
	if now := time.Now(); now.Sub(t.checked) >= tokenRecheck {
		t.checked = now
		if fi, statErr := os.Stat(t.path); statErr != nil || !fi.ModTime().Equal(t.mod) || fi.Size() != t.size {
			err = t.load()
		}
	}
	return t.token, err
}

// Valid reports whether an Authorization header carries the token.
func (t *TokenFile) Valid(header string) (bool, error) {
	got, ok := strings.CutPrefix(header, "Bearer ")
	tok, err := t.current()
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), tok) == 1, err
}

// authorize requires the token on h when one is configured.
func (s *Server) authorize(h http.Handler) http.Handler {
	if s.opts.Token == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := s.opts.Token.Valid(r.Header.Get("Authorization"))
		if err != nil {
			s.logger.Warn("token file unreadable; the previous token stays valid", "err", err)
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="netlens-agent"`)
			s.writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}
