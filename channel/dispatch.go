package channel

import "sync"

// dispatcher runs functions one at a time, in the order they were queued, on
// its own goroutine, outside every lock. Its queue is unbounded; what feeds
// it is bounded elsewhere (by the publishers' windows).
type dispatcher struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{} // capacity 1
	stop  chan struct{} // closed by close
	done  chan struct{} // closed when run returns
}

func newDispatcher() *dispatcher {
	d := &dispatcher{wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go d.run()
	return d
}

func (d *dispatcher) do(fn func()) {
	d.mu.Lock()
	d.queue = append(d.queue, fn)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		select {
		case <-d.stop:
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			q := d.queue
			d.queue = nil
			d.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, fn := range q {
				select {
				case <-d.stop:
					return
				default:
				}
				fn()
			}
		}
	}
}

// close stops the dispatcher after the function running now, dropping the
// rest, and waits for it unless called from a dispatched function.
func (d *dispatcher) close(wait bool) {
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	if wait {
		<-d.done
	}
}
