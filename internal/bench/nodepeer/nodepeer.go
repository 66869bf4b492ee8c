// Package nodepeer holds the Node program that "switchboard bench" runs as
// its Node socket-ipc peer. The program is embedded so the switchboard binary
// can run it from anywhere; it needs node and the @crussell52/socket-ipc
// package (scripts/test-deps.sh installs both into test/node).
package nodepeer

import _ "embed"

// Script is peer.js: a bench worker speaking the harness's line protocol
// over stdin and stdout.
//
//go:embed peer.js
var Script []byte
