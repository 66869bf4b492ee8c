package endpoint

import (
	"os"
	"testing"
)

// childEnv selects a child role when the test binary is re-run by a test
// (see children_unix_test.go); without it the tests run as usual.
const childEnv = "SWB_ENDPOINT_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}
