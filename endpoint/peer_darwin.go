package endpoint

import (
	"os"

	"golang.org/x/sys/unix"
)

// peerCred reads LOCAL_PEERCRED (uid and groups, no pid) and LOCAL_PEERPID.
func peerCred(fd int) (Peer, error) {
	xu, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Peer{}, os.NewSyscallError("getsockopt LOCAL_PEERCRED", err)
	}
	p := Peer{UID: xu.Uid}
	if xu.Ngroups > 0 {
		p.GID = xu.Groups[0]
	}
	if pid, err := unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
		p.PID = pid
	}
	return p, nil
}
