package activation

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func envOf(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestParseListenEnv(t *testing.T) {
	const self = 4242
	for _, tc := range []struct {
		name  string
		env   map[string]string
		names []string
		err   error
	}{
		{"unset", map[string]string{}, nil, ErrNotActivated},
		{"empty fds", map[string]string{envFDs: "", envPID: "4242"}, nil, ErrNotActivated},
		{"zero", map[string]string{envFDs: "0", envPID: "4242"}, nil, ErrNotActivated},
		{"no pid", map[string]string{envFDs: "1"}, nil, ErrOtherProcess},
		{"other pid", map[string]string{envFDs: "1", envPID: "1"}, nil, ErrOtherProcess},
		{"bogus pid", map[string]string{envFDs: "1", envPID: "x"}, nil, ErrBadEnvironment},
		{"negative pid", map[string]string{envFDs: "1", envPID: "-4242"}, nil, ErrBadEnvironment},
		{"bogus fds", map[string]string{envFDs: "two", envPID: "4242"}, nil, ErrBadEnvironment},
		{"negative fds", map[string]string{envFDs: "-1", envPID: "4242"}, nil, ErrBadEnvironment},
		{"huge fds", map[string]string{envFDs: "99999999", envPID: "4242"}, nil, ErrBadEnvironment},
		{"no names", map[string]string{envFDs: "2", envPID: "4242"}, []string{"unknown", "unknown"}, nil},
		{"names", map[string]string{envFDs: "3", envPID: "4242", envNames: "a:B:a"}, []string{"a", "B", "a"}, nil},
		{"too few names", map[string]string{envFDs: "3", envPID: "4242", envNames: "a:b"}, nil, ErrBadEnvironment},
		{"too many names", map[string]string{envFDs: "1", envPID: "4242", envNames: "a:b"}, nil, ErrBadEnvironment},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names, err := parseListenEnv(envOf(tc.env), self)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var e *Error
				if !errors.As(err, &e) || e.Manager != Systemd {
					t.Fatalf("err %#v is not a systemd *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(names, ":") != strings.Join(tc.names, ":") || len(names) != len(tc.names) {
				t.Fatalf("names = %q, want %q", names, tc.names)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	_, err := parseListenEnv(envOf(map[string]string{envFDs: "1", envPID: "7"}), 8)
	want := "activation: systemd: sockets handed to another process: LISTEN_PID=7 but this process is 8; a program between the service manager and this one changed the pid"
	if err.Error() != want {
		t.Errorf("error text\n got %s\nwant %s", err, want)
	}
	e := &Error{Manager: Systemd, Name: "hub", Err: ErrNoSuchSocket, Detail: `names passed: "a"`}
	if got, want := e.Error(), `activation: systemd socket "hub": no socket of that name: names passed: "a"`; got != want {
		t.Errorf("error text\n got %s\nwant %s", got, want)
	}
}

// FuzzParseListenEnv checks that any environment parses without panicking,
// into either a typed error or one name per descriptor that round-trips.
func FuzzParseListenEnv(f *testing.F) {
	f.Add("1", "4242", "app", true)
	f.Add("2", "4242", "a:b", true)
	f.Add("2", "4242", "", false)
	f.Add("3", "4242", "a::b", true)
	f.Add("0", "4242", "", true)
	f.Add("1", "", "x", true)
	f.Add("+1", "04242", "x", true)
	f.Add("65537", "4242", "", false)
	f.Fuzz(func(t *testing.T, fds, pid, names string, namesSet bool) {
		env := map[string]string{envFDs: fds, envPID: pid}
		if namesSet {
			env[envNames] = names
		}
		got, err := parseListenEnv(envOf(env), 4242)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			switch e.Err {
			case ErrNotActivated, ErrOtherProcess, ErrBadEnvironment:
			default:
				t.Fatalf("unexpected sentinel in %v", err)
			}
			if got != nil {
				t.Fatalf("names %q with error %v", got, err)
			}
			return
		}
		n, convErr := strconv.Atoi(fds)
		if convErr != nil || n <= 0 || n > maxListenFDs || len(got) != n {
			t.Fatalf("LISTEN_FDS=%q accepted with %d names", fds, len(got))
		}
		if p, err := strconv.Atoi(pid); err != nil || p != 4242 {
			t.Fatalf("LISTEN_PID=%q accepted", pid)
		}
		if namesSet && strings.Join(got, ":") != names {
			t.Fatalf("names %q do not round-trip to %q", got, names)
		}
		if !namesSet {
			for _, name := range got {
				if name != unknownName {
					t.Fatalf("absent LISTEN_FDNAMES gave name %q", name)
				}
			}
		}
	})
}
