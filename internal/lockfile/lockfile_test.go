//go:build unix

package lockfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ipc/switchboard/internal/testenv"
)

// tryAcquire attempts the lock for a short while and reports whether it got
// it (releasing it again).
func tryAcquire(t *testing.T, path string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	l, err := Acquire(ctx, path, 0o600)
	if errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	return true
}

func TestExclusive(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "x.lock")
	l, err := Acquire(context.Background(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if l.Path() != path {
		t.Errorf("Path() = %q", l.Path())
	}
	if tryAcquire(t, path) {
		t.Fatal("a second Acquire got a held lock")
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if !tryAcquire(t, path) {
		t.Fatal("Acquire failed after Unlock")
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

func TestMutualExclusionCounter(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "x.lock")
	var inside, maxInside, total atomic.Int32
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				l, err := Acquire(context.Background(), path, 0o600)
				if err != nil {
					t.Error(err)
					return
				}
				n := inside.Add(1)
				if n > maxInside.Load() {
					maxInside.Store(n) // only ever raced by a second holder, which fails the test anyway
				}
				total.Add(1)
				runtime.Gosched() // give a second holder, if the lock let one in, a chance to show
				inside.Add(-1)
				if (g+i)%7 == 0 {
					err = l.Remove() // removal must never let two holders in
				} else {
					err = l.Unlock()
				}
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || total.Load() != 16*20 {
		t.Fatalf("max %d holders at once over %d acquisitions, want 1 over %d", maxInside.Load(), total.Load(), 16*20)
	}
}

func TestRemoveWhileWaiting(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "x.lock")
	l, err := Acquire(context.Background(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lock)
	go func() {
		w, err := Acquire(context.Background(), path, 0o600)
		if err != nil {
			t.Error(err)
		}
		got <- w
	}()
	if err := l.Remove(); err != nil {
		t.Fatal(err)
	}
	w := <-got
	if w == nil {
		t.Fatal("waiter got no lock")
	}
	// Whatever the order, the waiter's lock is on the file the path names.
	if tryAcquire(t, path) {
		t.Fatal("the waiter holds a lock on a removed file, not on the path")
	}
	w.Unlock()
}

func TestCanceledWait(t *testing.T) {
	path := filepath.Join(testenv.ShortDir(t), "x.lock")
	l, err := Acquire(context.Background(), path, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() {
		_, err := Acquire(ctx, path, 0o600)
		errc <- err
	}()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled Acquire = %v", err)
	}
	l.Unlock()
	// The abandoned wait must let go of the lock once it gets it.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	l2, err := Acquire(ctx2, path, 0o600)
	if err != nil {
		t.Fatalf("Acquire after an abandoned wait: %v", err)
	}
	l2.Unlock()
}

func TestSymlinkRefused(t *testing.T) {
	dir := testenv.ShortDir(t)
	target := filepath.Join(dir, "target")
	path := filepath.Join(dir, "x.lock")
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
	if l, err := Acquire(context.Background(), path, 0o600); err == nil {
		l.Unlock()
		t.Fatal("Acquire followed a symlink")
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}
