//go:build unix

package launcher

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errWoken is returned by pollReadable when wake became readable.
var errWoken = errors.New("launcher: poll interrupted")

// pollReadable blocks until one of files is readable (a connection waits to be
// accepted, a datagram to be read) or wake is. It never accepts or reads from
// files, so the first connection stays queued for the child.
func pollReadable(files []*os.File, wake *os.File) error {
	pfds := make([]unix.PollFd, 0, len(files)+1)
	for _, f := range files {
		pfds = append(pfds, unix.PollFd{Fd: int32(f.Fd()), Events: unix.POLLIN})
	}
	pfds = append(pfds, unix.PollFd{Fd: int32(wake.Fd()), Events: unix.POLLIN})
	for {
		_, err := unix.Poll(pfds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return os.NewSyscallError("poll", err)
		}
		if pfds[len(pfds)-1].Revents != 0 {
			return errWoken
		}
		for _, p := range pfds[:len(files)] {
			if p.Revents&(unix.POLLIN|unix.POLLERR|unix.POLLHUP) != 0 {
				return nil
			}
		}
	}
}
