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
	var ln net.Listener
	// A socket stays in the namespace it was made in, whichever thread uses it.
	if err := inNetns(l.NodeNetns, func() (err error) {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		ended bool
	)
	track := func(c net.Conn, open bool) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case open && ended:
			c.Close()
		case open:
			conns[c] = true
		default:
			delete(conns, c)
		}
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		ended = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				track(in, true)
				defer func() { track(in, false); in.Close() }()
				out, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				track(out, true)
				defer func() { track(out, false); out.Close() }()
				done := make(chan struct{})
				go func() { _, _ = io.Copy(out, in); out.(*net.TCPConn).CloseWrite(); close(done) }()
				_, _ = io.Copy(in, out)
				in.(*net.TCPConn).CloseWrite()
				<-done
			}()
		}
	}()
	return ln.Addr().String()
}
