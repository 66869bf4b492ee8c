package activation_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/switchboard-ipc/switchboard/activation"
)

func TestNotActivated(t *testing.T) {
	t.Setenv("LISTEN_FDS", "")
	_, err := activation.Listeners("app")
	if !errors.Is(err, activation.ErrNotActivated) || !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("Listeners without activation: %v, want ErrNotActivated (ESRCH)", err)
	}
	var e *activation.Error
	if !errors.As(err, &e) || e.Name != "app" {
		t.Fatalf("error %#v is not an *Error naming the socket", err)
	}
	for _, m := range []activation.Manager{activation.Any, activation.Systemd, activation.Launchd} {
		if _, err := activation.ListenersFrom(m, "app"); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("ListenersFrom(%v): %v, want ESRCH", m, err)
		}
	}
	if _, err := activation.PacketConns("app"); !errors.Is(err, activation.ErrNotActivated) {
		t.Errorf("PacketConns: %v, want ErrNotActivated", err)
	}
	if _, err := activation.Files("app"); !errors.Is(err, activation.ErrNotActivated) {
		t.Errorf("Files: %v, want ErrNotActivated", err)
	}
}

func TestManagerString(t *testing.T) {
	for m, want := range map[activation.Manager]string{
		activation.Any: "activation", activation.Systemd: "systemd", activation.Launchd: "launchd", 7: "Manager(7)",
	} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}
