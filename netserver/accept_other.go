//go:build !windows

package netserver

// platformTemporaryErrnos lists accept errors worth retrying beyond
// temporaryErrnos; Unix systems report them all with POSIX numbers.
var platformTemporaryErrnos []error
