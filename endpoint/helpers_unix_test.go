//go:build unix

package endpoint

import (
	"strconv"
	"syscall"
	"testing"
)

func itoa(n int) string { return strconv.Itoa(n) }

// socketPair returns a connected pair of Unix socket descriptors, closed at
// the end of the test.
func socketPair(t *testing.T) (uintptr, uintptr) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return uintptr(fds[0]), uintptr(fds[1])
}
