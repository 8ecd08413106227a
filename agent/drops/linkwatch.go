//go:build linux

package drops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LookupLink asks the kernel for the name of device ifindex in the calling
// thread's network namespace (one RTM_GETLINK, not a dump of every device).
func LookupLink(ifindex uint32) (string, bool) {
	l, err := netlink.LinkByIndex(int(ifindex))
	if err != nil {
		return "", false
	}
	return l.Attrs().Name, true
}

// WatchLinks keeps names in sync with the devices of the agent's network
// namespace, from the kernel's link notifications, until ctx ends. When
// notifications are lost (the socket overflowed) it says so, lets names ask
// the kernel per lookup meanwhile, and subscribes and lists the devices again.
func WatchLinks(ctx context.Context, names *LinkNames, logger *slog.Logger) {
	const minBackoff, maxBackoff = time.Second, time.Minute
	backoff := minBackoff
	for {
		started := time.Now()
		err := watchLinksOnce(ctx, names)
		names.Unsync()
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > maxBackoff {
			backoff = minBackoff
		}
		logger.Warn("interface names of drop events: link notifications ended; asking the kernel per event until they resume",
			"err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// watchLinksOnce subscribes, lists the devices, and applies notifications
// until ctx ends or one is lost.
func watchLinksOnce(ctx context.Context, names *LinkNames) error {
	updates := make(chan netlink.LinkUpdate, 256)
	done := make(chan struct{})
	errc := make(chan error, 1)
	err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{
		// Any error means a notification may be missing: start over.
		ErrorCallback: func(err error) {
			select {
			case errc <- err:
			default:
			}
		},
		ReceiveBufferSize: 1 << 20,
	})
	if err != nil {
		return fmt.Errorf("subscribing to link notifications: %w", err)
	}
	defer func() {
		close(done)
		for range updates { // lets the subscription's reader end
		}
	}()
	// Listing after subscribing: changes made meanwhile are queued and
	// applied after the list, which leaves the same end state.
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("listing links: %w", err)
	}
	now := make(map[uint32]string, len(links))
	for _, l := range links {
		now[uint32(l.Attrs().Index)] = l.Attrs().Name
	}
	names.Reset(now)
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return err
		case u, ok := <-updates:
			if !ok {
				return errors.New("the subscription ended")
			}
			// Bridges also send AF_BRIDGE link messages about their ports;
			// a port leaving a bridge is an RTM_DELLINK of those.
			if u.Family != unix.AF_UNSPEC {
				continue
			}
			switch u.Header.Type {
			case unix.RTM_NEWLINK:
				names.Set(uint32(u.Index), u.Attrs().Name)
			case unix.RTM_DELLINK:
				names.Delete(uint32(u.Index), u.Attrs().Name)
			}
		}
	}
}
