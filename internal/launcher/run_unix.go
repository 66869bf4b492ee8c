//go:build unix

package launcher

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// killDelay is how long a child may take to exit after SIGTERM when the
// launcher's context is cancelled, before it is killed.
const killDelay = 5 * time.Second

// Run binds every address of cfg, then starts cfg.Command with the sockets as
// systemd would, and returns the exit code the launcher should exit with: the
// (last) child's exit status, 128+N for a child killed by signal N, 0 when the
// launcher was stopped while no child ran, or in Accept mode.
//
// A non-nil error means the launcher itself failed: an invalid cfg (wrapping
// ErrBadConfig), an address that cannot be bound, a command that cannot be
// found. Cancelling ctx stops the launcher like a signal would, sending
// SIGTERM to the children.
func Run(ctx context.Context, cfg Config) (int, error) {
	if cfg.Inetd {
		cfg.Accept = true
	}
	if err := cfg.validate(); err != nil {
		return 0, err
	}
	if _, err := exec.LookPath(cfg.Command[0]); err != nil {
		return 0, fmt.Errorf("launcher: cannot start %s: %w", cfg.Command[0], err)
	}
	shim := cfg.Shim
	if shim == "" && !cfg.Inetd {
		exe, err := os.Executable()
		if err != nil {
			return 0, fmt.Errorf("launcher: cannot find this program to start the command through: %w", err)
		}
		shim = exe
	}
	r := &runner{cfg: cfg, ctx: ctx, shim: shim, logf: cfg.Logf}
	if r.logf == nil {
		r.logf = func(string, ...any) {}
	}
	if r.cfg.RestartDelay <= 0 {
		r.cfg.RestartDelay = DefaultRestartDelay
	}
	defer r.closeSockets()
	for i, addr := range cfg.Addrs {
		s, err := bind(ctx, addr, cfg.Type)
		if err != nil {
			return 0, fmt.Errorf("launcher: cannot listen on %s: %w", addr, err)
		}
		r.sockets = append(r.sockets, s)
		r.logf("listening on %s as fd %d", addr, 3+i)
	}
	if cfg.Accept {
		return r.acceptLoop(), nil
	}
	return r.serveLoop()
}

type runner struct {
	cfg     Config
	ctx     context.Context
	shim    string
	logf    func(string, ...any)
	sockets []*socket
}

func (r *runner) closeSockets() {
	for _, s := range r.sockets {
		s.close()
	}
}

// serveLoop waits for the first connection (unless Now), runs the child with
// every socket, and with Restart does it again whenever the child exits.
func (r *runner) serveLoop() (int, error) {
	files := make([]*os.File, len(r.sockets))
	for i, s := range r.sockets {
		files[i] = s.file
	}
	var names string
	if len(r.cfg.FDNames) > 0 {
		ns := append([]string{}, r.cfg.FDNames...)
		for len(ns) < len(files) {
			if len(r.cfg.FDNames) == 1 {
				ns = append(ns, r.cfg.FDNames[0]) // one name for all, as systemd-socket-activate does
			} else {
				ns = append(ns, "unknown")
			}
		}
		names = strings.Join(ns, ":")
	}
	now := r.cfg.Now
	for {
		if !now {
			ready, err := r.waitReadable(files)
			if err != nil {
				return 0, err
			}
			if !ready {
				return 0, nil // stopped while no child ran
			}
		}
		now = false
		cmd := r.command(files, names)
		if err := cmd.Start(); err != nil {
			return 0, fmt.Errorf("launcher: cannot start %s: %w", r.cfg.Command[0], err)
		}
		r.logf("started %s (pid %d)", r.cfg.Command[0], cmd.Process.Pid)
		code, stopped := r.wait(cmd)
		r.logf("%s (pid %d) exited with status %d", r.cfg.Command[0], cmd.Process.Pid, code)
		if stopped || !r.cfg.Restart {
			return code, nil
		}
		if !r.pause(r.cfg.RestartDelay) {
			return code, nil
		}
	}
}

// command returns the child for the listening files: the shim, which sets
// LISTEN_PID and execs the command.
func (r *runner) command(files []*os.File, names string) *exec.Cmd {
	cmd := exec.Command(r.shim, r.cfg.Command...)
	cmd.Env = r.env(len(files), names)
	cmd.ExtraFiles = files
	r.stdio(cmd)
	return cmd
}

func (r *runner) stdio(cmd *exec.Cmd) {
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if r.cfg.Stdin != nil {
		cmd.Stdin = r.cfg.Stdin
	}
	if r.cfg.Stdout != nil {
		cmd.Stdout = r.cfg.Stdout
	}
	if r.cfg.Stderr != nil {
		cmd.Stderr = r.cfg.Stderr
	}
	// A process group of its own: a terminal's ^C reaches the child only
	// through the launcher, once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// env is the child's environment: the launcher's without LISTEN_*, then the
// activation variables (when nfds > 0), then cfg.Env.
func (r *runner) env(nfds int, names string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", shimEnv:
			continue
		}
		env = append(env, kv)
	}
	if nfds > 0 {
		env = append(env, "LISTEN_FDS="+strconv.Itoa(nfds), shimEnv+"=1")
		if names != "" {
			env = append(env, "LISTEN_FDNAMES="+names)
		}
	}
	for _, e := range r.cfg.Env {
		if strings.Contains(e, "=") {
			env = append(env, e)
		} else if v, ok := os.LookupEnv(e); ok {
			env = append(env, e+"="+v)
		}
	}
	return env
}

// waitReadable waits until a socket is readable (true), or the launcher is
// stopped by a signal or ctx (false).
func (r *runner) waitReadable(files []*os.File) (bool, error) {
	wr, ww, err := os.Pipe()
	if err != nil {
		return false, err
	}
	defer wr.Close()
	defer ww.Close()
	done := make(chan error, 1)
	go func() { done <- pollReadable(files, wr) }()
	select {
	case err := <-done:
		return err == nil, err
	case s := <-r.cfg.Signals:
		r.logf("%v: stopping", s)
	case <-r.ctx.Done():
	}
	ww.Write([]byte{0})
	<-done
	return false, nil
}

// pause waits d, or less when stopped (false).
func (r *runner) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case s := <-r.cfg.Signals:
		r.logf("%v: stopping", s)
	case <-r.ctx.Done():
	}
	return false
}

// wait waits for cmd to exit, forwarding signals to it. stopped tells whether
// the launcher was asked to stop meanwhile.
func (r *runner) wait(cmd *exec.Cmd) (code int, stopped bool) {
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	ctxDone := r.ctx.Done()
	var kill <-chan time.Time
	for {
		select {
		case <-exited:
			return exitStatus(cmd.ProcessState), stopped
		case s := <-r.cfg.Signals:
			stopped = true
			r.logf("forwarding %v to pid %d", s, cmd.Process.Pid)
			cmd.Process.Signal(s)
		case <-ctxDone:
			stopped, ctxDone = true, nil
			cmd.Process.Signal(syscall.SIGTERM)
			kill = time.After(killDelay)
		case <-kill:
			cmd.Process.Kill()
		}
	}
}

// exitStatus is the shell's view of how a process ended: its exit code, or
// 128+N when signal N killed it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// acceptLoop accepts connections on every socket and starts a child for
// each, until stopped; then it waits for the children.
func (r *runner) acceptLoop() int {
	conns := make(chan net.Conn)
	stop := make(chan struct{})
	var accepting sync.WaitGroup
	for _, s := range r.sockets {
		accepting.Go(func() {
			for {
				c, err := s.listener.Accept()
				if err != nil {
					if errors.Is(err, net.ErrClosed) {
						return
					}
					r.logf("accept on %s: %v", s.addr, err)
					select {
					case <-stop:
						return
					case <-time.After(100 * time.Millisecond): // e.g. EMFILE: do not spin
					}
					continue
				}
				select {
				case conns <- c:
				case <-stop:
					c.Close()
					return
				}
			}
		})
	}
	var (
		mu       sync.Mutex
		children = make(map[*exec.Cmd]bool) // guarded by mu
		running  sync.WaitGroup
	)
	signalAll := func(s os.Signal) {
		mu.Lock()
		defer mu.Unlock()
		for c := range children {
			c.Process.Signal(s)
		}
	}
	var stopSig os.Signal = syscall.SIGTERM
loop:
	for {
		select {
		case c := <-conns:
			cmd, err := r.startConn(c)
			if err != nil {
				r.logf("%v", err)
				continue
			}
			mu.Lock()
			children[cmd] = true
			mu.Unlock()
			running.Go(func() {
				cmd.Wait()
				if code := exitStatus(cmd.ProcessState); code != 0 {
					r.logf("%s (pid %d) exited with status %d", r.cfg.Command[0], cmd.Process.Pid, code)
				}
				mu.Lock()
				delete(children, cmd)
				mu.Unlock()
			})
		case s := <-r.cfg.Signals:
			r.logf("%v: stopping", s)
			stopSig = s
			break loop
		case <-r.ctx.Done():
			break loop
		}
	}
	close(stop)
	for _, s := range r.sockets {
		s.listener.Close()
		s.closer = nil
	}
	accepting.Wait()
	signalAll(stopSig)
	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(killDelay):
		signalAll(syscall.SIGKILL)
		<-done
	}
	return 0
}

// startConn starts a child for the connection c and closes the launcher's
// copy of it.
func (r *runner) startConn(c net.Conn) (*exec.Cmd, error) {
	defer c.Close()
	f, err := c.(filer).File()
	if err != nil {
		return nil, fmt.Errorf("launcher: connection from %v: %w", c.RemoteAddr(), err)
	}
	defer f.Close()
	var cmd *exec.Cmd
	if r.cfg.Inetd {
		cmd = exec.Command(r.cfg.Command[0], r.cfg.Command[1:]...)
		cmd.Env = r.env(0, "")
		r.stdio(cmd)
		cmd.Stdin, cmd.Stdout = f, f
	} else {
		cmd = r.command([]*os.File{f}, "connection")
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launcher: cannot start %s: %w", r.cfg.Command[0], err)
	}
	return cmd, nil
}
