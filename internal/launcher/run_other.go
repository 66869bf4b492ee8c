//go:build !unix

package launcher

import (
	"context"
	"errors"
)

// ErrNotSupported is returned by Run on platforms without Unix descriptor
// inheritance.
var ErrNotSupported = errors.New("launcher: not supported on this platform")

// Run is not supported on this platform.
func Run(ctx context.Context, cfg Config) (int, error) { return 0, ErrNotSupported }
