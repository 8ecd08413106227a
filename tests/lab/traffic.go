//go:build linux

package lab

import (
	"fmt"
	"net"
	"net/netip"
	"time"
)

// SendUDP sends n datagrams of size bytes to dst from an unconnected socket
// in the calling thread's network namespace (use it inside Pod.Do), so that
// ICMP port-unreachable replies cannot cancel later sends.
func SendUDP(dst netip.AddrPort, n, size int) error {
	c, err := net.ListenUDP("udp", nil)
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, size)
	for i := range n {
		if _, err := c.WriteToUDPAddrPort(buf, dst); err != nil {
			return fmt.Errorf("datagram %d to %s: %w", i, dst, err)
		}
	}
	return nil
}

// SendSYNs opens n TCP connections to dst, each abandoned after 50ms, so that
// each sends one SYN (the socket is gone before a retransmission). A
// connection that succeeds is an error: dst is meant to be behind a deny rule.
func SendSYNs(dst netip.AddrPort, n int) error {
	for range n {
		c, err := net.DialTimeout("tcp", dst.String(), 50*time.Millisecond)
		if err == nil {
			c.Close()
			return fmt.Errorf("connection to %s succeeded through a deny rule", dst)
		}
	}
	return nil
}
