//go:build !(darwin || linux || openbsd)

package sockio

import "syscall"

// TryWriteBuffers is TryWrite for the concatenation of bufs. On this
// platform it writes from bufs[0] only (the caller writes the rest next);
// it returns errors.ErrUnsupported where TryWrite does.
func TryWriteBuffers(c syscall.Conn, bufs [][]byte) (int, error) {
	if len(bufs) == 0 {
		return 0, nil
	}
	return TryWrite(c, bufs[0])
}
