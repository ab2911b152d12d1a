#!/bin/bash
# prosody-down.sh — stop a Prosody started by prosody-up.sh.
#
# usage: prosody-down.sh DIR
#
# SIGTERM to the pid in DIR/prosody.pid, then wait up to 10 s (Prosody
# needs 1–2 s and removes its pid file itself) before SIGKILL.  Succeeds
# when nothing is running.
set -u
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
P=$(cat "$1/prosody.pid" 2>/dev/null) || exit 0
kill "$P" 2>/dev/null || exit 0
i=0
while kill -0 "$P" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 200 ]; then
		kill -9 "$P" 2>/dev/null
		break
	fi
	sleep 0.05
done
exit 0
