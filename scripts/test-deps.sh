#!/usr/bin/env bash
# Installs what switchboard's test suite runs against: the real Node packages
# (into test/node/node_modules) and systemd-socket-activate. Safe to run again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

need_apt=()
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
command -v systemd-socket-activate >/dev/null 2>&1 || need_apt+=(systemd)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "test-deps: missing ${need_apt[*]}; install them (apt-get install ${need_apt[*]})" >&2
		exit 1
	fi
	echo "test-deps: installing ${need_apt[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

cd "$root/test/node"
if [[ ! -f node_modules/.switchboard-ok || package.json -nt node_modules/.switchboard-ok ]]; then
	echo "test-deps: npm install (test/node)" >&2
	npm install --no-audit --no-fund --loglevel=error >/dev/null
	touch node_modules/.switchboard-ok
fi
