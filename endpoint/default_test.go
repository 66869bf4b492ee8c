//go:build unix

package endpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

func TestDefaultAddr(t *testing.T) {
	tmp := testenv.ShortDir(t)
	t.Setenv("TMPDIR", tmp)
	t.Setenv(EnvAddr, "")
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/4242")
	if got := DefaultAddr(); got != "/run/user/4242/switchboard.sock" {
		t.Errorf("with XDG_RUNTIME_DIR: %q", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "relative/dir") // not absolute: ignored, as the XDG spec says
	private := filepath.Join(tmp, "switchboard-"+strconv.Itoa(os.Getuid()))
	if got := DefaultAddr(); got != filepath.Join(private, "switchboard.sock") {
		t.Errorf("with a relative XDG_RUNTIME_DIR: %q", got)
	}
	os.Unsetenv("XDG_RUNTIME_DIR")
	if got := DefaultAddr(); got != filepath.Join(private, "switchboard.sock") {
		t.Errorf("without XDG_RUNTIME_DIR: %q", got)
	}
	if _, err := os.Stat(private); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("DefaultAddr touched the file system: %v", err)
	}
	t.Setenv(EnvAddr, "tcp:127.0.0.1:7000")
	if got := DefaultAddr(); got != "tcp:127.0.0.1:7000" {
		t.Errorf("with %s: %q", EnvAddr, got)
	}
}

func TestDefaultAddrPrivateDir(t *testing.T) {
	tmp := testenv.ShortDir(t)
	t.Setenv("TMPDIR", tmp)
	t.Setenv(EnvAddr, "")
	os.Unsetenv("XDG_RUNTIME_DIR")
	private := filepath.Join(tmp, "switchboard-"+strconv.Itoa(os.Getuid()))

	l := listenT(t, DefaultAddr())
	fi, err := os.Lstat(private)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("per-user directory: %v, %v; want a 0700 directory", fi, err)
	}
	roundTrip(t, l, DefaultAddr())
	l.Close()
	if dir, err := RuntimeDir(); err != nil || dir != private {
		t.Errorf("RuntimeDir() = %q, %v; want %q", dir, err, private)
	}

	// Open to others: refused, by Listen and by RuntimeDir.
	if err := os.Chmod(private, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(context.Background(), DefaultAddr()); !errors.Is(err, ErrInsecureDir) {
		t.Errorf("Listen in a 0755 per-user directory = %v, want ErrInsecureDir", err)
	}
	if _, err := RuntimeDir(); !errors.Is(err, ErrInsecureDir) {
		t.Errorf("RuntimeDir with a 0755 directory = %v, want ErrInsecureDir", err)
	}
	os.Chmod(private, 0o700)

	// Owned by someone else (only root can arrange that).
	if os.Geteuid() == 0 {
		if err := os.Chown(private, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(context.Background(), DefaultAddr()); !errors.Is(err, ErrInsecureDir) {
			t.Errorf("Listen in a directory of uid 4242 = %v, want ErrInsecureDir", err)
		}
		os.Chown(private, 0, 0)
	}

	// A symlink in its place, even to a private directory of ours: refused.
	os.RemoveAll(private)
	target := filepath.Join(tmp, "elsewhere")
	os.Mkdir(target, 0o700)
	if err := os.Symlink(target, private); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(context.Background(), DefaultAddr()); !errors.Is(err, ErrInsecureDir) {
		t.Errorf("Listen through a symlinked per-user directory = %v, want ErrInsecureDir", err)
	}

	// A directory that is not the per-user one is not checked: /tmp-like
	// shared directories are fine for explicit paths.
	shared := filepath.Join(tmp, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	listenT(t, filepath.Join(shared, "s.sock")).Close()
}

func TestRuntimeDirXDG(t *testing.T) {
	xdg := testenv.ShortDir(t)
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	if dir, err := RuntimeDir(); err != nil || dir != xdg {
		t.Errorf("RuntimeDir() = %q, %v; want %q", dir, err, xdg)
	}
}
