package endpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
)

// EnvAddr is the environment variable that overrides the default address.
const EnvAddr = "SWITCHBOARD_ADDR"

// DefaultSocketName is the file name of the default socket in RuntimeDir.
const DefaultSocketName = "switchboard.sock"

// DefaultAddr returns the address to use when none is given: $SWITCHBOARD_ADDR
// if set, else $XDG_RUNTIME_DIR/switchboard.sock, else
// $TMPDIR/switchboard-$UID/switchboard.sock, in a directory Listen creates with
// mode 0700 (and refuses when it belongs to someone else or is open to
// others). It does not touch the file system.
func DefaultAddr() string {
	if s := os.Getenv(EnvAddr); s != "" {
		return s
	}
	path := filepath.Join(runtimeDir(), DefaultSocketName)
	if !unixSupported {
		// A Windows path (C:\...) only parses with the scheme; Listen then
		// reports ErrNotSupported rather than a parse error.
		return "unix:" + path
	}
	return path
}

// RuntimeDir returns the directory for switchboard's sockets:
// $XDG_RUNTIME_DIR when set to an absolute path, else the per-user directory
// switchboard-$UID in the temporary directory, created with mode 0700 when
// missing. The per-user directory must belong to the user and be closed to
// group and others, else the error matches ErrInsecureDir.
func RuntimeDir() (string, error) {
	dir := runtimeDir()
	if dir != privateTmpDir() {
		return dir, nil
	}
	if err := os.Mkdir(dir, 0o700); err == nil {
		if err := os.Chmod(dir, 0o700); err != nil { // Mkdir's mode is subject to the umask
			return "", err
		}
	} else if !errors.Is(err, os.ErrExist) {
		return "", err
	}
	if err := checkPrivate(dir); err != nil {
		return "", err
	}
	return dir, nil
}

func runtimeDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		return filepath.Clean(d)
	}
	return privateTmpDir()
}

// privateTmpDir is the per-user directory under the temporary directory.
func privateTmpDir() string {
	name := "switchboard"
	if uid := os.Getuid(); uid >= 0 {
		name += "-" + strconv.Itoa(uid)
	}
	return filepath.Join(os.TempDir(), name)
}
