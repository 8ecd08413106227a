//go:build linux

package lab

// InNetns runs fn on a thread inside the named network namespace (one made
// with `ip netns add`), for tests that build their own namespaces.
func InNetns(name string, fn func() error) error { return inNetns(name, fn) }
