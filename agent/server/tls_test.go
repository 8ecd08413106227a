package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/netlens/netlens/agent/api"
)

// writePair writes a self-signed certificate with serial and its key.
func writePair(t *testing.T, dir string, serial int64) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "netlens-agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, keyPath
}

// With TLS the agent serves HTTPS only, and a rotated certificate is served
// without a restart.
func TestTLSServesAndRotates(t *testing.T) {
	old := certRecheck
	certRecheck = 0
	t.Cleanup(func() { certRecheck = old })
	dir := t.TempDir()
	cert, key := writePair(t, dir, 1)
	files, err := NewCertFiles(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gatherer: prometheus.NewRegistry(),
		Status: func() api.Status { return api.Status{} }, TLS: files})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.http.Close() })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	serial := func() int64 {
		t.Helper()
		resp, err := client.Get("https://" + l.Addr().String() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d", got)
	}
	if resp, err := http.Get("http://" + l.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS port")
		}
	}
	// The rotated files get a modification time of their own, whatever the
	// file system's timestamp granularity and however fast this runs.
	rotated := time.Now().Add(time.Hour)
	writePair(t, dir, 2)
	for _, p := range []string{cert, key} {
		if err := os.Chtimes(p, rotated, rotated); err != nil {
			t.Fatal(err)
		}
	}
	if got := serial(); got != 2 {
		t.Fatalf("rotated certificate not served: serial %d", got)
	}
	if _, err := NewCertFiles(cert, filepath.Join(dir, "missing.key")); err == nil {
		t.Fatal("a missing key was accepted")
	}
}
