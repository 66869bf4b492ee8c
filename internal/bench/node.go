package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/switchboard-ipc/switchboard/internal/bench/nodepeer"
)

// nodeCommand returns the command running the Node peer for p, writing the
// embedded program into dir.
func nodeCommand(cfg *Config, dir string, p Params) (*exec.Cmd, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("node peer: %w (scripts/test-deps.sh installs node)", err)
	}
	mods := cfg.NodeModules
	if mods == "" {
		return nil, errors.New("node peer: no node_modules with @crussell52/socket-ipc (scripts/test-deps.sh installs it into test/node)")
	}
	if _, err := os.Stat(filepath.Join(mods, "@crussell52", "socket-ipc")); err != nil {
		return nil, fmt.Errorf("node peer: %w (scripts/test-deps.sh installs it)", err)
	}
	script := filepath.Join(dir, "peer.js")
	if err := os.WriteFile(script, nodepeer.Script, 0o600); err != nil {
		return nil, err
	}
	role := strings.TrimPrefix(p.Role, "node-")
	cmd := exec.Command(node, script, role, p.Mode, p.Addr, fmt.Sprint(p.Size),
		fmt.Sprint(p.Duration.Milliseconds()), p.Topic)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	return cmd, nil
}

// FindNodeModules looks for test/node/node_modules holding the socket-ipc
// package in dir and its parents, and returns it, or "" when there is none.
func FindNodeModules(dir string) string {
	for {
		m := filepath.Join(dir, "test", "node", "node_modules")
		if _, err := os.Stat(filepath.Join(m, "@crussell52", "socket-ipc")); err == nil {
			return m
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
