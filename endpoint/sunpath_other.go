//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package endpoint

// sunPathLimit is sizeof(sockaddr_un.sun_path) on the remaining platforms
// (illumos, Windows' AF_UNIX), 108 bytes.
const sunPathLimit = 108
