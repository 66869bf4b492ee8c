package netserver

import "syscall"

// Winsock reports descriptor and buffer shortages and aborted connections with
// its own codes (winerror.h), not the POSIX numbers of temporaryErrnos.
var platformTemporaryErrnos = []error{
	syscall.Errno(10024), // WSAEMFILE
	syscall.Errno(10053), // WSAECONNABORTED
	syscall.Errno(10054), // WSAECONNRESET: the peer reset before accept completed
	syscall.Errno(10055), // WSAENOBUFS
}
