package activation

import (
	"fmt"
	"strconv"
	"strings"
)

// The systemd socket activation protocol (sd_listen_fds(3)).
const (
	listenFdsStart = 3 // SD_LISTEN_FDS_START: the first inherited descriptor

	envPID   = "LISTEN_PID"     // the pid the descriptors are meant for
	envFDs   = "LISTEN_FDS"     // how many descriptors, from listenFdsStart on
	envNames = "LISTEN_FDNAMES" // colon-separated names, one per descriptor

	// unknownName is the name of every descriptor when LISTEN_FDNAMES is
	// absent, as sd_listen_fds_with_names(3) reports it.
	unknownName = "unknown"

	// maxListenFDs bounds LISTEN_FDS so a malformed environment cannot make
	// the package allocate without limit. systemd itself caps a unit far lower.
	maxListenFDs = 1 << 16
)

// parseListenEnv reads the systemd variables through lookup and returns the
// name of each inherited descriptor: names[i] belongs to fd listenFdsStart+i.
// self is the pid of this process.
//
// An absent or empty LISTEN_FDS, or LISTEN_FDS=0, means not activated. When
// LISTEN_FDS is set, LISTEN_PID must be present and equal self; an absent
// LISTEN_PID is treated as "meant for another process" (ErrOtherProcess, a kind
// of ErrNotActivated), as sd_listen_fds(3) and the Node library do, because
// descriptors whose owner cannot be checked must not be taken.
func parseListenEnv(lookup func(string) (string, bool), self int) ([]string, error) {
	fdsText, ok := lookup(envFDs)
	if !ok || fdsText == "" {
		return nil, &Error{Manager: Systemd, Err: ErrNotActivated, Detail: envFDs + " is not set"}
	}
	pidText, ok := lookup(envPID)
	if !ok || pidText == "" {
		return nil, &Error{Manager: Systemd, Err: ErrOtherProcess,
			Detail: envFDs + " is set but " + envPID + " is not, so the sockets cannot be shown to be this process's"}
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 {
		return nil, &Error{Manager: Systemd, Err: ErrBadEnvironment,
			Detail: fmt.Sprintf("%s=%q is not a process id", envPID, pidText)}
	}
	n, err := strconv.Atoi(fdsText)
	if err != nil || n < 0 || n > maxListenFDs {
		return nil, &Error{Manager: Systemd, Err: ErrBadEnvironment,
			Detail: fmt.Sprintf("%s=%q is not a descriptor count (0 to %d)", envFDs, fdsText, maxListenFDs)}
	}
	if pid != self {
		return nil, &Error{Manager: Systemd, Err: ErrOtherProcess,
			Detail: fmt.Sprintf("%s=%d but this process is %d; a program between the service manager and this one changed the pid", envPID, pid, self)}
	}
	if n == 0 {
		return nil, &Error{Manager: Systemd, Err: ErrNotActivated, Detail: envFDs + "=0"}
	}
	namesText, ok := lookup(envNames)
	if !ok {
		names := make([]string, n)
		for i := range names {
			names[i] = unknownName
		}
		return names, nil
	}
	names := strings.Split(namesText, ":")
	if len(names) != n {
		return nil, &Error{Manager: Systemd, Err: ErrBadEnvironment,
			Detail: fmt.Sprintf("%s has %d names but %s=%d", envNames, len(names), envFDs, n)}
	}
	return names, nil
}
