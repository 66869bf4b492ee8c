package channel

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Option configures Open. Options that get a bad value make Open fail with
// an error wrapping ErrBadOption.
type Option func(*options) error

// ErrBadOption is wrapped by the error Open returns for an invalid option.
var ErrBadOption = errors.New("channel: bad option")

type options struct {
	dir            string
	id             string
	connectTimeout time.Duration
	sessionTTL     time.Duration
	queue          int
	host           func(*Host)
	onHost         func()
	onConnect      func(hosting bool)
	onState        func(State)
	logger         *slog.Logger
}

func defaultOptions() options {
	return options{
		connectTimeout: 5 * time.Second,
		sessionTTL:     2 * time.Second,
		queue:          10000,
	}
}

// WithDir puts the channel's socket in dir instead of RuntimeDir(). Every
// member of a channel must use the same directory.
func WithDir(dir string) Option {
	return func(o *options) error {
		if dir == "" {
			return fmt.Errorf("%w: WithDir(\"\")", ErrBadOption)
		}
		o.dir = dir
		return nil
	}
}

// WithID sets the member id (default: a random UUID v4), 1 to 128 bytes of
// ASCII letters, digits, '_' and '-'. Ids must be unique
// within a channel; a process that reopens a channel with the id it had
// resumes its session if the host still keeps it.
func WithID(id string) Option {
	return func(o *options) error {
		if id == "" || len(id) > 128 || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "" {
			return fmt.Errorf("%w: WithID(%q): 1 to 128 bytes of [A-Za-z0-9_-]", ErrBadOption, id)
		}
		o.id = id
		return nil
	}
}

// WithConnectTimeout sets how long Connect waits when its context has no
// deadline: open-channel's connect(timeout). Default 5 s.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithConnectTimeout(%v)", ErrBadOption, d)
		}
		o.connectTimeout = d
		return nil
	}
}

// WithSessionTTL sets how long a host keeps the session of a member that is
// disconnected, including the sessions it adopts when it takes over, before
// it forgets the member. Messages routed to a session wait for the member
// that long. Default 2 s.
func WithSessionTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithSessionTTL(%v)", ErrBadOption, d)
		}
		o.sessionTTL = d
		return nil
	}
}

// WithQueue bounds the publications this member keeps until the host
// acknowledged them (sent or not yet sent). Publish blocks while it is full.
// Default 10000.
func WithQueue(n int) Option {
	return func(o *options) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithQueue(%d)", ErrBadOption, n)
		}
		o.queue = n
		return nil
	}
}

// WithHost sets the server-side logic, open-channel's connectionListener:
// fn runs in whichever member becomes the host, each time it does, before
// the host accepts members. It registers host-resident handlers with
// Host.Handle. Without it the host is a plain hub.
func WithHost(fn func(*Host)) Option {
	return func(o *options) error {
		o.host = fn
		return nil
	}
}

// OnHost sets a hook called each time this process becomes the host.
func OnHost(fn func()) Option {
	return func(o *options) error { o.onHost = fn; return nil }
}

// OnConnect sets a hook called each time the member joins a host; hosting
// tells whether the host is this process.
func OnConnect(fn func(hosting bool)) Option {
	return func(o *options) error { o.onConnect = fn; return nil }
}

// OnStateChange sets a hook called with every new state, in order.
func OnStateChange(fn func(State)) Option {
	return func(o *options) error { o.onState = fn; return nil }
}

// WithLogger sets where the channel logs elections and lost connections
// (default: nowhere).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { o.logger = l; return nil }
}
