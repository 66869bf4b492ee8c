//go:build !linux && !darwin && !freebsd

package endpoint

func peerCred(fd int) (Peer, error) { return Peer{}, ErrNotSupported }
