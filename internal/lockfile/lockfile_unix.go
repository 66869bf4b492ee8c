//go:build unix

package lockfile

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Lock is an exclusive lock on a file, held until Unlock or Remove.
type Lock struct {
	f    *os.File
	path string
}

// Acquire opens path (creating it with perm if missing; a symlink is refused)
// and waits for an exclusive flock on it, until ctx is done. When it returns
// nil error, path names the locked file.
func Acquire(ctx context.Context, path string, perm os.FileMode) (*Lock, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|unix.O_NOFOLLOW, perm)
		if err != nil {
			return nil, err
		}
		if err := flock(ctx, f); err != nil {
			return nil, err // flock has closed f (or handed it to a goroutine that will)
		}
		same, err := names(path, f)
		if err != nil {
			f.Close()
			return nil, err
		}
		if same {
			return &Lock{f: f, path: path}, nil
		}
		// The previous holder removed the file after we opened it: our lock is
		// on a file nobody else will look at. Start again on the new one.
		f.Close()
	}
}

// names reports whether path still names the open file f.
func names(path string, f *os.File) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

// flock takes an exclusive lock on f, waiting until ctx is done. On error f is
// closed, at once or, when ctx ends the wait, as soon as the pending flock call
// returns (closing it earlier could let the number be reused under it).
func flock(ctx context.Context, f *os.File) error {
	fd := int(f.Fd())
	err := retryEINTR(func() error { return unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) })
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	if ctx.Done() == nil {
		if err := retryEINTR(func() error { return unix.Flock(fd, unix.LOCK_EX) }); err != nil {
			f.Close()
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- retryEINTR(func() error { return unix.Flock(fd, unix.LOCK_EX) }) }()
	select {
	case err := <-done:
		if err != nil {
			f.Close()
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
		return nil
	case <-ctx.Done():
		go func() {
			<-done
			f.Close() // releases the lock if the call above got it
		}()
		return ctx.Err()
	}
}

func retryEINTR(call func() error) error {
	for {
		if err := call(); err != unix.EINTR {
			return err
		}
	}
}

// Path returns the path of the lock file.
func (l *Lock) Path() string { return l.path }

// Unlock releases the lock and leaves the file in place.
func (l *Lock) Unlock() error {
	return l.f.Close()
}

// Remove deletes the lock file while still holding the lock, then releases
// it. Waiters notice and retry on a fresh file (see Acquire).
func (l *Lock) Remove() error {
	err := os.Remove(l.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
