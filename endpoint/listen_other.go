//go:build !unix

package endpoint

import (
	"context"
	"net"
	"os"
	"path/filepath"
)

const unixSupported = false

func listenUnix(ctx context.Context, c config, a Addr) (net.Listener, error) {
	return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSupported, Detail: "Unix socket paths are supported on Unix systems only"}
}

func listenFD(c config, a Addr) (net.Listener, error) {
	return nil, &OpError{Op: "listen", Addr: a.String(), Err: ErrNotSupported, Detail: "inherited descriptors are supported on Unix systems only"}
}

// setBacklog does nothing: Windows keeps the backlog of the first listen call.
func setBacklog(l *net.TCPListener, backlog int) error { return nil }

// checkPrivate only checks that dir is a directory: Windows' temporary
// directory is already per user.
func checkPrivate(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return &os.PathError{Op: "check", Path: filepath.Clean(dir), Err: ErrInsecureDir}
	}
	return nil
}
