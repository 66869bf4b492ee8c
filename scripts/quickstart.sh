#!/usr/bin/env bash
# Quick start: builds switchboard into ./bin, runs a hub on the default address,
# subscribes to "greetings", publishes "hello" there and shows what the
# subscriber received; then stops the hub. Needs only Go. Exits 0 only if the
# message arrived.
#
# The hub listens on the default address ($SWITCHBOARD_ADDR, else
# $XDG_RUNTIME_DIR/switchboard.sock, else a per-user socket under the temp dir).
# BIN_DIR overrides where the binary goes (default ./bin).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="${BIN_DIR:-$root/bin}"
wait_limit=20 # seconds to wait for each step

die() { echo "quickstart: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is needed: https://go.dev/dl/"
mkdir -p "$bin_dir"
(cd "$root" && go build -o "$bin_dir/switchboard" ./cmd/switchboard) || die "build failed"
sb="$bin_dir/switchboard"

work="$(mktemp -d)"
hub_pid="" sub_pid=""
cleanup() {
	# Stop whatever is still running; the hub gets SIGTERM, its graceful stop.
	[[ -n "$sub_pid" ]] && kill "$sub_pid" 2>/dev/null || true
	[[ -n "$hub_pid" ]] && kill -TERM "$hub_pid" 2>/dev/null && wait "$hub_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# wait_line FD PREFIX WHAT: copies the lines read from FD to stdout until one
# starts with PREFIX; fails when FD ends first or nothing comes for
# wait_limit seconds.
wait_line() {
	local fd=$1 prefix=$2 what=$3 line status
	while true; do
		status=0
		IFS= read -r -t "$wait_limit" -u "$fd" line || status=$?
		((status > 128)) && die "$what printed nothing for ${wait_limit}s (waiting for \"$prefix\")"
		((status != 0)) && die "$what ended before printing \"$prefix\""
		echo "$line"
		[[ $line == "$prefix"* ]] && return 0
	done
}

# The children's stderr goes through fifos, so we wait for their lines
# ("listening on", "subscribed") as they are written, not for a fixed time.
mkfifo "$work/hub.err" "$work/sub.err"

"$sb" serve 2>"$work/hub.err" &
hub_pid=$!
exec 3<"$work/hub.err"
wait_line 3 "listening on " "the hub (switchboard serve)"
# Keep draining the hub's stderr so it never blocks on a full pipe.
cat <&3 >&2 &
exec 3<&-

"$sb" sub -n 1 --timeout "${wait_limit}s" greetings >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
exec 4<"$work/sub.err"
wait_line 4 "subscribed" "the subscriber (switchboard sub)"
cat <&4 >&2 &
exec 4<&-

"$sb" pub greetings '"hello"' || die "switchboard pub failed"

sub_status=0
wait "$sub_pid" || sub_status=$?
sub_pid=""
cat "$work/sub.out"

hub_status=0
kill -TERM "$hub_pid"
wait "$hub_pid" || hub_status=$?
hub_pid=""

[[ $sub_status -eq 0 ]] || die "the subscriber exited with status $sub_status: the message did not arrive"
grep -qxF '{"topic":"greetings","message":"hello"}' "$work/sub.out" || die "the subscriber printed something else"
[[ $hub_status -eq 0 ]] || die "the hub exited with status $hub_status on SIGTERM"
