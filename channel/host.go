package channel

import "fmt"

// Host is given to the WithHost function in the member that becomes the
// host: server-side logic that runs wherever the channel is hosted.
type Host struct {
	members  []Member
	handlers []hostHandler
}

// Members returns the members the new host adopted: every member the
// previous host knew (none on a fresh channel).
func (h *Host) Members() []Member { return append([]Member(nil), h.members...) }

// Handle runs fn in the host for every message published on a topic
// matching pattern, in addition to the members subscribed to it. A host
// handler counts as a responder for Request; Message.Reply answers from the
// host. Host handlers run one at a time on the host's own goroutine.
func (h *Host) Handle(pattern string, fn Handler) error {
	if err := validPattern(pattern); err != nil {
		return err
	}
	if fn == nil {
		return fmt.Errorf("%w: nil handler", ErrBadOption)
	}
	h.handlers = append(h.handlers, hostHandler{pattern, fn})
	return nil
}
