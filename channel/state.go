package channel

import "strconv"

// State is the life-cycle state of a Channel, open-channel's channel.state.
//
//	Initiated --Connect/Publish/Subscribe--> Connecting --joined--> Connected
//	Connected --host lost--> Connecting (a new election) --> Connected ...
//	any state --Close--> Closed
type State int32

const (
	// Initiated: opened, no connection attempted yet.
	Initiated State = iota
	// Connecting: electing a host or connecting to it, including after the
	// host was lost. Publications are queued meanwhile.
	Connecting
	// Connected: joined the host (this process's own or another's).
	Connected
	// Closed: Close was called. Final.
	Closed
)

// String returns open-channel's name of the state: "initiated",
// "connecting", "connected" or "closed".
func (s State) String() string {
	switch s {
	case Initiated:
		return "initiated"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Closed:
		return "closed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}
