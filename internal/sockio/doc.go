// Package sockio writes to a socket without waiting: as much as the kernel
// takes at once, and no more. A caller that must not block (a goroutine
// relaying for other connections, a request in a hurry) writes what it can
// and leaves the rest to a goroutine that may wait.
package sockio
