// Package activation collects the sockets a service manager bound for the
// process and handed over when it started it: systemd's socket activation
// (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES; sd_listen_fds(3)) and launchd's
// (launch_activate_socket on darwin). The manager owns the socket and keeps it
// open while the service restarts, so no client ever sees a refused connection
// and the service can start on demand.
//
// # Collecting
//
// Files, Listeners and PacketConns return the sockets handed over under one
// name (systemd's FileDescriptorName=, launchd's Sockets key), always as a slice
// in the order the manager passed them: one name often carries several sockets
// (IPv4 and IPv6, several ListenStream= lines). Names are case sensitive. When
// systemd gives no names (LISTEN_FDNAMES absent), every socket is named
// "unknown", as sd_listen_fds_with_names(3) reports it.
//
// Errors match the Node library socket-activation and can be tested with
// errors.Is:
//
//   - ErrNotActivated (syscall.ESRCH): no service manager started the process;
//     listen on your own. ErrOtherProcess is a kind of it: LISTEN_PID names
//     another process, or is absent while LISTEN_FDS is set.
//   - ErrNoSuchSocket (syscall.ENOENT): no socket of that name.
//   - ErrAlreadyCollected (syscall.EALREADY): the name was collected before
//     in this process.
//
// # Invariants
//
//   - Each name is handed out at most once per process, whichever Collector or
//     goroutine asks; collecting is safe from several goroutines.
//   - LISTEN_PID must equal os.Getpid(); descriptors meant for another process
//     are never taken.
//   - Every inherited descriptor is checked to be open and a socket of the
//     kind asked for before it is wrapped, and is made close-on-exec.
//   - After the first successful collection the LISTEN_* variables are
//     unset (Collector.KeepEnv keeps them), so children do not misread them.
//   - Closing what this package returns closes only this process's copy: it
//     never calls shutdown(2) and never unlinks a Unix socket path, both of
//     which belong to the manager. Code that wraps these listeners must keep
//     to that.
//
// # A systemd unit
//
//	# app.socket
//	[Socket]
//	ListenStream=%t/app.sock
//	FileDescriptorName=app
//
//	# app.service
//	[Service]
//	ExecStart=/usr/local/bin/app
//
// # Usage
//
//	ls, err := activation.Listeners("app")
//	if errors.Is(err, activation.ErrNotActivated) {
//		l, err := net.Listen("unix", "/run/app.sock") // started by hand
//		...
//	}
//
// For development without systemd, "switchboard activate" (or
// systemd-socket-activate) binds sockets and starts a program this way.
// docs/activation.md has complete unit files and a launchd plist.
package activation
