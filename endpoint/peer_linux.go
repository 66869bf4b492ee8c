package endpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

func peerCred(fd int) (Peer, error) {
	if dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN); err == nil && dom != unix.AF_UNIX {
		return Peer{}, ErrNotSupported
	}
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Peer{}, os.NewSyscallError("getsockopt SO_PEERCRED", err)
	}
	return Peer{UID: uc.Uid, GID: uc.Gid, PID: int(uc.Pid)}, nil
}
