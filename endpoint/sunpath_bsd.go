//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package endpoint

// sunPathLimit is sizeof(sockaddr_un.sun_path) on darwin and the BSDs.
const sunPathLimit = 104
