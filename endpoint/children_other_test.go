//go:build !unix

package endpoint

// runChild: no child roles outside Unix, where no test re-runs the binary.
func runChild(role string) int { return 2 }
