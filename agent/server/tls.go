package server

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// CertFiles is a certificate and key in files (a mounted Kubernetes Secret),
// re-read when they change so certificates rotate without a restart.
type CertFiles struct {
	cert, key string

	mu      sync.Mutex
	current *tls.Certificate
	mods    [2]time.Time
	checked time.Time
}

// certRecheck is how often the files are looked at, at most (a variable for tests).
var certRecheck = 5 * time.Second

// NewCertFiles loads the pair now; a bad pair is an error.
func NewCertFiles(cert, key string) (*CertFiles, error) {
	c := &CertFiles{cert: cert, key: key}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertFiles) load() error {
	var mods [2]time.Time
	for i, p := range []string{c.cert, c.key} {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("TLS: %w", err)
		}
		mods[i] = fi.ModTime()
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		return fmt.Errorf("TLS key pair %s, %s: %w", c.cert, c.key, err)
	}
	c.current, c.mods = &pair, mods
	return nil
}

// GetCertificate serves the current pair, reloading it (at most every few
// seconds) when a file changed; a pair that fails to load keeps the old one.
func (c *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= certRecheck {
		c.checked = now
		for i, p := range []string{c.cert, c.key} {
			if fi, err := os.Stat(p); err == nil && !fi.ModTime().Equal(c.mods[i]) {
				_ = c.load() // a half-written pair fails here and is retried later
				break
			}
		}
	}
	return c.current, nil
}
