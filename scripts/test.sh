#!/usr/bin/env bash
# The whole test suite: installs the test dependencies, then runs every test
# with the race detector. Extra arguments go to `go test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/test-deps.sh"
cd "$root"
exec go test -race -timeout 20m "$@" ./...
