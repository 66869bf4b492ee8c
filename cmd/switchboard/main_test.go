package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// envRunMain, when set to "1" in the environment of the test binary, makes
// the binary run the CLI's main with its arguments instead of the tests. CLI
// tests start the real program this way: no separate build step, and the race
// detector covers the child too.
const envRunMain = "SWITCHBOARD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		os.Unsetenv(envRunMain) // not for the programs the CLI starts
		main()
		os.Exit(exitFailure) // main exits itself; never reached
	}
	os.Exit(m.Run())
}

// cliCommand returns an *exec.Cmd that runs "switchboard args..." as a child
// process: the test binary re-executed with envRunMain set. The child gets the
// test's environment plus envRunMain; callers add to cmd.Env.
func cliCommand(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("locating the test binary: %v", err)
	}
	cmd := exec.Command(exe, args...)
	// A race-enabled child sleeps 1 s at exit by default (atexit_sleep_ms);
	// the test waits for it, so skip that.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	cmd.Env = append(os.Environ(), envRunMain+"=1", "GORACE="+gorace)
	return cmd
}
