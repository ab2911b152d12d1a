#!/bin/bash
# prosody-up.sh — start one throw-away Prosody 0.12 for the integration
# tests: foreground process, no TLS, loopback only, users alice and bob.
#
# usage: prosody-up.sh DIR C2S_PORT COMPONENT_PORT SECRET [DOMAIN...]
#
# Writes DIR/prosody.cfg.lua (Component "muc.example.test" with SECRET, and
# one more Component with the same secret per extra DOMAIN),
# pre-seeds the accounts alice/alicepw and bob/bobpw as data files (quicker
# than prosodyctl and idempotent, so the same DIR can be started again after
# prosody-down.sh), starts Prosody in the background, waits until both ports
# accept and prints its pid on stdout.  Logs go to DIR/prosody.log.
# The recipe and the reasons for each setting are in TEST-SERVERS.md §2.1.
# IT_PROSODY_EXTRA, when set, is added to the global section (e.g.
# "component_stanza_size_limit = 10000", to match a spec's max-stanza).
set -eu
[ $# -ge 4 ] || { echo "usage: $0 DIR C2S_PORT COMPONENT_PORT SECRET [DOMAIN...]" >&2; exit 2; }
DIR=$(mkdir -p "$1" && cd "$1" && pwd)
C2S=$2 COMP=$3 SECRET=$4
shift 4

# An empty certs dir silences a certmanager error.
mkdir -p "$DIR/data/example%2etest/accounts" "$DIR/certs"
for u in alice bob; do
	printf 'return { ["password"] = "%spw"; };\n' "$u" \
	    >"$DIR/data/example%2etest/accounts/$u.dat"
done

# Prosody as root refuses to run, yet keeps listening in a broken state,
# unless run_as_root is set; the tests run as root in CI.
cat >"$DIR/prosody.cfg.lua" <<CFG
-- Test-only Prosody 0.12 config (no TLS, loopback only); written by prosody-up.sh
run_as_root = true
pidfile = "$DIR/prosody.pid"
data_path = "$DIR/data"
log = { { levels = { min = "debug" }, to = "file", filename = "$DIR/prosody.log" } }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $C2S }
component_ports = { $COMP }
component_interfaces = { "127.0.0.1" }
s2s_ports = { }
http_ports = { }
https_ports = { }

modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "posix"; "version"; "time"; "uptime"; }
modules_disabled = { "s2s"; "tls"; "offline"; }

authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
${IT_PROSODY_EXTRA:-}

VirtualHost "example.test"

Component "muc.example.test"
    component_secret = "$SECRET"
CFG
for d in "$@"; do
	printf 'Component "%s"\n    component_secret = "%s"\n' "$d" "$SECRET" \
	    >>"$DIR/prosody.cfg.lua"
done

prosody --config "$DIR/prosody.cfg.lua" -F >"$DIR/stdout.log" 2>&1 &
PID=$!
i=0
until (exec 3<>/dev/tcp/127.0.0.1/"$C2S") 2>/dev/null &&
    (exec 3<>/dev/tcp/127.0.0.1/"$COMP") 2>/dev/null; do
	i=$((i + 1))
	if ! kill -0 "$PID" 2>/dev/null; then
		echo "prosody-up: prosody exited, see $DIR/prosody.log" >&2
		exit 1
	fi
	if [ $i -gt 250 ]; then
		echo "prosody-up: prosody did not listen within 5 s, see $DIR/prosody.log" >&2
		kill "$PID"
		exit 1
	fi
	sleep 0.02
done
echo "$PID"
