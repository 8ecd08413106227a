//go:build linux

package lab

import (
	"fmt"
	"net"
	"net/netip"
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
