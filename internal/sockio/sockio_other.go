//go:build !unix

package sockio

import (
	"errors"
	"syscall"
)

// TryWrite is not available on this platform: it returns
// errors.ErrUnsupported.
func TryWrite(c syscall.Conn, p []byte) (int, error) { return 0, errors.ErrUnsupported }
