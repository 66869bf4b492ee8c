package netserver

import (
	"errors"
	"net"
	"syscall"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/backoff"
)

// acceptBackoff spaces retries after temporary accept errors: 5ms doubling to
// 1s, as net/http does. No jitter: one process retries alone.
var acceptBackoff = backoff.Backoff{Min: 5 * time.Millisecond, Max: time.Second}

// isTemporary reports whether an accept error is worth retrying: running out
// of descriptors or buffers (which closing connections relieves), a peer that
// aborted before accept completed, or a listener reporting a timeout or a
// temporary condition.
func isTemporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, list := range [][]error{temporaryErrnos, platformTemporaryErrnos} {
		for _, errno := range list {
			if errors.Is(err, errno) {
				return true
			}
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// Temporary is deprecated on net.Error, but listeners from other
	// packages still report transient conditions through it.
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

var temporaryErrnos = []error{
	syscall.EMFILE,       // process out of descriptors
	syscall.ENFILE,       // system out of descriptors
	syscall.ECONNABORTED, // peer went away between SYN and accept
	syscall.ENOBUFS,      // out of socket buffers
	syscall.ENOMEM,       // out of kernel memory
	syscall.EINTR,        // interrupted by a signal
}
