package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// proc is one running worker process, seen from the parent.
type proc struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan line     // decoded stdout lines; closed at EOF
	exit  chan struct{} // closed once the process was waited for
	err   error         // Wait's result, valid after exit closes

	stderr lockedTail
}

// lockedTail keeps the last 64 KiB or more written to it, for error messages.
type lockedTail struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *lockedTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.buf.Len() > 128<<10 { // room for a goroutine dump (SIGQUIT) of a stuck worker
		b := t.buf.Bytes()
		keep := append([]byte(nil), b[len(b)-64<<10:]...)
		t.buf.Reset()
		t.buf.Write(keep)
	}
	return len(p), nil
}

func (t *lockedTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}

// startProc starts cmd as a worker named name and begins reading its output.
func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, lines: make(chan line, 16), exit: make(chan struct{})}
	cmd.Stderr = &p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				fmt.Fprintf(&p.stderr, "[bad output line %q]\n", sc.Text())
				continue
			}
			p.lines <- l
		}
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.exit)
	}()
	return p, nil
}

// await returns the next line of the given event, failing when the process
// reports an error, exits, or timeout passes.
func (p *proc) await(ctx context.Context, event string, timeout time.Duration) (line, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				<-p.exit
				return line{}, p.failure(fmt.Errorf("exited before %q: %v", event, p.err))
			}
			if l.Err != "" {
				return line{}, p.failure(errors.New(l.Err))
			}
			if l.Event == event {
				return l, nil
			}
		case <-t.C:
			return line{}, p.failure(fmt.Errorf("no %q within %v", event, timeout))
		case <-ctx.Done():
			return line{}, ctx.Err()
		}
	}
}

func (p *proc) failure(err error) error {
	if s := p.stderr.String(); s != "" {
		return fmt.Errorf("%s: %w\n%s", p.name, err, indent(s))
	}
	return fmt.Errorf("%s: %w", p.name, err)
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// send writes one command line to the worker.
func (p *proc) send(cmd string) error {
	_, err := io.WriteString(p.stdin, cmd+"\n")
	return err
}

// stop asks the worker to finish, and kills it if it has not exited within
// grace. It returns once the process is gone.
func (p *proc) stop(grace time.Duration) {
	p.send("stop")
	p.stdin.Close()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.exit:
	case <-t.C:
		p.cmd.Process.Kill()
		<-p.exit
	}
}

// kill ends the worker now and returns once it is gone.
func (p *proc) kill() {
	p.cmd.Process.Kill()
	<-p.exit
}
