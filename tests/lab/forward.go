//go:build linux

package lab

import (
	"io"
	"net"
	"sync"
	"testing"
)

// ForwardToHost listens on 127.0.0.1 inside the node namespace and forwards
// each connection to target, an address of the test's own namespace (a
// control plane on its loopback, say), so that a program run in the node
// namespace can reach it. It returns the listening address; the forwarder
// stops with the test.
func (l *Lab) ForwardToHost(t testing.TB, target string) string {
	t.Helper()
	f, err := ForwardIntoNetns(l.NodeNetns, target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f.Addr
}

// Forwarder accepts connections in one network namespace and forwards them
// to an address of the caller's.
type Forwarder struct {
	// Addr is where it listens, inside its namespace.
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
	ended bool
}

// ForwardIntoNetns listens on 127.0.0.1 inside the named network namespace
// and forwards each connection to target. Close stops it.
func ForwardIntoNetns(netns, target string) (*Forwarder, error) {
	f := &Forwarder{conns: map[net.Conn]bool{}}
	// A socket stays in the namespace it was made in, whichever thread uses it.
	if err := inNetns(netns, func() (err error) {
		f.ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		return nil, err
	}
	f.Addr = f.ln.Addr().String()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			in, err := f.ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.relay(in, target)
			}()
		}
	}()
	return f, nil
}

func (f *Forwarder) relay(in net.Conn, target string) {
	f.track(in, true)
	defer func() { f.track(in, false); in.Close() }()
	out, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	f.track(out, true)
	defer func() { f.track(out, false); out.Close() }()
	done := make(chan struct{})
	go func() { _, _ = io.Copy(out, in); _ = out.(*net.TCPConn).CloseWrite(); close(done) }()
	_, _ = io.Copy(in, out)
	_ = in.(*net.TCPConn).CloseWrite()
	<-done
}

func (f *Forwarder) track(c net.Conn, open bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case open && f.ended:
		c.Close()
	case open:
		f.conns[c] = true
	default:
		delete(f.conns, c)
	}
}

// Close stops listening, ends the connections and waits for the relays.
func (f *Forwarder) Close() {
	f.ln.Close()
	f.mu.Lock()
	f.ended = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
