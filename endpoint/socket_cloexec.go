//go:build linux || freebsd || netbsd || openbsd || dragonfly || illumos

package endpoint

import "golang.org/x/sys/unix"

// socket creates a close-on-exec socket.
func socket(domain, typ int) (int, error) {
	return unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
}
