// Package launcher is the engine of "switchboard activate": it binds sockets
// and starts a program with them the way systemd starts a socket-activated
// service, so that such programs can be developed, tested and run in
// containers without a service manager. Its flags follow
// systemd-socket-activate(1).
//
// # Invariants
//
//   - The sockets are bound before any child runs and stay open in the
//     launcher for its whole life: between runs of the child (Restart) a
//     client's connection waits in the listen queue and is never refused.
//   - A child sees the listening sockets as descriptors 3.. with LISTEN_FDS,
//     LISTEN_FDNAMES and LISTEN_PID set to its own pid. Go cannot put a
//     child's pid into its environment before exec, so the child is first a
//     tiny shim (this program again, see ExecShim) that sets LISTEN_PID to its
//     pid and then execs the command: same pid, same descriptors.
//   - The child runs in its own process group; SIGINT and SIGTERM reach it
//     only through the launcher, once.
//   - Unix socket files the launcher created are removed when it exits.
//
// # Usage
//
//	code, err := launcher.Run(ctx, launcher.Config{
//		Addrs:   []string{"/run/user/1000/app.sock"},
//		FDNames: []string{"app"},
//		Command: []string{"node", "app.js"},
//	})
//
// A program that uses Run must call ExecShim first thing in main (or init).
package launcher
