package endpoint

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peerCred reads LOCAL_PEERCRED. Since FreeBSD 13 struct xucred ends in a
// union whose pid_t member cr_pid holds the peer's pid; x/sys declares that
// union as an unexported pointer-sized field, read here by offset. Older
// kernels leave it zero, which means "unknown".
func peerCred(fd int) (Peer, error) {
	xu, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return Peer{}, os.NewSyscallError("getsockopt LOCAL_PEERCRED", err)
	}
	p := Peer{UID: xu.Uid}
	if xu.Ngroups > 0 {
		p.GID = xu.Groups[0]
	}
	pidOff := unsafe.Sizeof(*xu) - unsafe.Sizeof(uintptr(0))
	p.PID = int(*(*int32)(unsafe.Add(unsafe.Pointer(xu), pidOff)))
	return p, nil
}
