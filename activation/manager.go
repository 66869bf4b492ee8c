package activation

import "strconv"

// Manager names a service manager that hands sockets to the processes it starts.
type Manager int

// The service managers. Any means whichever one started the process: systemd
// (LISTEN_FDS) is tried first, then launchd on darwin.
const (
	Any     Manager = iota // "activation": whichever manager started the process
	Systemd                // "systemd": LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES
	Launchd                // "launchd": launch_activate_socket (darwin only)
)

// String returns "activation", "systemd" or "launchd": the address prefixes
// of package endpoint (activation:NAME, systemd:NAME, launchd:NAME).
func (m Manager) String() string {
	switch m {
	case Any:
		return "activation"
	case Systemd:
		return "systemd"
	case Launchd:
		return "launchd"
	}
	return "Manager(" + strconv.Itoa(int(m)) + ")"
}

func strconvQuote(s string) string { return strconv.Quote(s) }
