package wire

import "encoding/json"

// Hello is the JSON payload of the HELLO frame a native client sends first.
// Receivers ignore fields they do not know.
type Hello struct {
	// ID is the client's id (a UUID) from an earlier WELCOME, or empty for a
	// new client.
	ID string `json:"id"`
	// Codec names the payload codec, such as "json", "raw" or "cbor".
	Codec string `json:"codec"`
	// Resume asks the server to resume the session of ID: keep the id,
	// subscriptions and sequence numbers.
	Resume bool `json:"resume"`
}

// Welcome is the JSON payload of the WELCOME frame the server answers a
// HELLO with. Receivers ignore fields they do not know.
type Welcome struct {
	// ID is the client's id: the one asked for when resumed, else a new UUID.
	ID string `json:"id"`
	// Resumed reports whether the session of the HELLO's ID was resumed.
	Resumed bool `json:"resumed"`
	// Acked is the last client sequence number the server has; the client
	// resends what came after it.
	Acked uint64 `json:"acked"`
	// MaxFrame is the largest length field the server accepts.
	MaxFrame int `json:"maxFrame"`
	// Idle, in milliseconds, is the server's idle timeout: a connection
	// from which nothing was read for that long is closed. A client with
	// nothing to send sends PING well within it. 0 or absent: none.
	Idle int64 `json:"idle,omitempty"`
}

// MarshalHello returns the HELLO payload for h.
func MarshalHello(h *Hello) ([]byte, error) { return json.Marshal(h) }

// UnmarshalHello decodes a HELLO payload. A payload that is not a JSON
// object of the right field types is a *DecodeError wrapping ErrInvalidJSON.
func UnmarshalHello(payload []byte, h *Hello) error {
	if err := json.Unmarshal(payload, h); err != nil {
		return decodeErr(Native, ErrInvalidJSON, "HELLO: "+err.Error())
	}
	return nil
}

// MarshalWelcome returns the WELCOME payload for w.
func MarshalWelcome(w *Welcome) ([]byte, error) { return json.Marshal(w) }

// UnmarshalWelcome decodes a WELCOME payload. A payload that is not a JSON
// object of the right field types is a *DecodeError wrapping ErrInvalidJSON.
func UnmarshalWelcome(payload []byte, w *Welcome) error {
	if err := json.Unmarshal(payload, w); err != nil {
		return decodeErr(Native, ErrInvalidJSON, "WELCOME: "+err.Error())
	}
	return nil
}

// GoAway codes, carried in the ID field of a GOAWAY frame. The payload is a
// human-readable text. Receivers treat codes they do not know like
// GoAwayNormal, with the text as the reason.
const (
	GoAwayNormal             uint64 = 0 // the sender is shutting down or closing the connection
	GoAwayProtocolError      uint64 = 1 // the peer sent bytes that do not decode, or frames out of order
	GoAwayUnsupportedVersion uint64 = 2 // the client's preface names an unsupported version
	GoAwayHandshakeTimeout   uint64 = 3 // no HELLO arrived in time
	GoAwaySlowConsumer       uint64 = 4 // the client did not read fast enough; its queue overflowed
	GoAwayServerShutdown     uint64 = 5 // the server is shutting down; reconnect later
	GoAwayFrameTooLarge      uint64 = 6 // the peer sent a frame over the limit
)

// REPLY error codes, carried in the Seq field of a REPLY frame with
// FlagError. Receivers treat codes they do not know like ReplyErrorText.
const (
	ReplyErrorText    uint64 = 0 // the responder failed; the payload is its error text
	ReplyNoResponders uint64 = 1 // nobody handles the request's topic
)
