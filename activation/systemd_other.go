//go:build !unix

package activation

import "os"

func collectSystemd(c Collector, name string, want socketKind) ([]*os.File, error) {
	return nil, &Error{Manager: Systemd, Name: name, Err: ErrNotSupported}
}
