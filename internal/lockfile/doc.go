// Package lockfile takes exclusive advisory locks (flock) on small sibling
// files, to settle races between processes that start at the same time — the
// stale-socket check of package endpoint holds one across probe, unlink and
// bind.
//
// A lock is held by an open file description, so two goroutines of one
// process exclude each other exactly as two processes do. A holder may remove
// the lock file while it still holds the lock (Lock.Remove): a waiter that then
// gets the lock on the removed file notices that the path no longer names the
// file it locked and starts again on the new one, so removal never lets two
// holders in at once.
//
// The package works on Unix systems only; elsewhere it is empty.
//
//	l, err := lockfile.Acquire(ctx, "/run/app.sock.lock", 0o600)
//	if err != nil {
//		return err
//	}
//	defer l.Unlock()
package lockfile
