//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package endpoint

import "syscall"

const reusePortSupported = false

func setReusePort(network, address string, c syscall.RawConn) error { return ErrNotSupported }
