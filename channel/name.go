package channel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/switchboard-ipc/switchboard/endpoint"
)

// Errors returned by this package. Test for them with errors.Is.
var (
	// ErrBadName is wrapped by every *NameError: a channel name that is empty
	// after defaulting, too long, or holds characters outside [A-Za-z0-9._-].
	ErrBadName = errors.New("channel: bad channel name")
	// ErrPathTooLong: the channel's socket path would not fit in sun_path
	// (108 bytes on Linux, 104 on macOS and the BSDs).
	ErrPathTooLong = errors.New("channel: socket path too long")
	// ErrClosed is returned by every operation on a closed Channel.
	ErrClosed = errors.New("channel: closed")
	// ErrConnectTimeout is returned by Connect when the channel did not
	// connect within its timeout. It implements net.Error with Timeout() true.
	ErrConnectTimeout error = &timeoutError{"channel: connect timed out"}
	// ErrQueueFull is returned by Publish when its context ends while the
	// member's queue of unacknowledged publications (WithQueue) is full; the
	// error also matches the context's error.
	ErrQueueFull = errors.New("channel: send queue full")
	// ErrNoResponders is returned by Request when the host found no member
	// (and no host handler) subscribed to the request's topic.
	ErrNoResponders = errors.New("channel: no responders")
	// ErrBadPattern is returned by Subscribe for a malformed pattern.
	ErrBadPattern = errors.New("channel: bad subscription pattern")
	// ErrBadTopic is returned by Publish for an empty topic, one with
	// wildcards, or one in the reserved "$" namespace.
	ErrBadTopic = errors.New("channel: bad topic")
)

type timeoutError struct{ s string }

func (e *timeoutError) Error() string   { return e.s }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// MaxNameLen is the longest channel name Open accepts.
const MaxNameLen = 64

// NameError reports a channel name that Open cannot use. It wraps ErrBadName.
type NameError struct {
	Name   string // the name as given
	Reason string // what is wrong with it
}

func (e *NameError) Error() string {
	return fmt.Sprintf("channel: bad channel name %q: %s", e.Name, e.Reason)
}

// Unwrap returns ErrBadName.
func (e *NameError) Unwrap() error { return ErrBadName }

// PathError reports a socket path longer than the platform allows. It wraps
// ErrPathTooLong.
type PathError struct {
	Path  string
	Limit int // the longest path the platform accepts, in bytes
}

func (e *PathError) Error() string {
	return fmt.Sprintf("channel: socket path %q is %d bytes, longer than the %d the platform allows", e.Path, len(e.Path), e.Limit)
}

// Unwrap returns ErrPathTooLong.
func (e *PathError) Unwrap() error { return ErrPathTooLong }

// ValidateName reports whether name can name a channel: 1 to MaxNameLen
// bytes of ASCII letters, digits, '.', '_' and '-', not starting with '.' or
// '-'. The error is a *NameError wrapping ErrBadName.
func ValidateName(name string) error {
	switch {
	case name == "":
		return &NameError{name, "empty"}
	case len(name) > MaxNameLen:
		return &NameError{name, "longer than " + strconv.Itoa(MaxNameLen) + " bytes"}
	case name[0] == '.' || name[0] == '-':
		return &NameError{name, "starts with " + strconv.QuoteRune(rune(name[0]))}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			continue
		}
		return &NameError{name, fmt.Sprintf("byte %q at %d is not one of [A-Za-z0-9._-]", c, i)}
	}
	return nil
}

// DefaultName returns the name Open uses for "": the base name of the running
// program when it is a valid name, else "default".
func DefaultName() string {
	if len(os.Args) > 0 {
		n := filepath.Base(os.Args[0])
		if ValidateName(n) == nil {
			return n
		}
	}
	return "default"
}

// SocketPath returns the socket path of the channel name in dir ("" means
// endpoint.RuntimeDir(), the per-user runtime directory):
// dir/switchboard-ch-NAME.sock.
func SocketPath(dir, name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	if dir == "" {
		d, err := endpoint.RuntimeDir()
		if err != nil {
			return "", err
		}
		dir = d
	}
	p := filepath.Join(dir, "switchboard-ch-"+name+".sock")
	if limit := sunPathLimit(); len(p) >= limit {
		return "", &PathError{Path: p, Limit: limit - 1}
	}
	return p, nil
}

// sunPathLimit is the size of sockaddr_un.sun_path, including the final NUL.
func sunPathLimit() int {
	if runtime.GOOS == "linux" {
		return 108
	}
	return 104
}
