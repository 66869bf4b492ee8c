//go:build darwin

package activation

import "os"

func collectLaunchd(c Collector, name string, want socketKind) ([]*os.File, error) {
	return nil, &Error{Manager: Launchd, Name: name, Err: ErrNotSupported, Detail: "launchd exists only on darwin"}
}
