#!/bin/bash
# check-demo.sh — `make demo` (tools/demo.sh) end to end, non-interactively.
#
# Runs the live demo against the build tree in $B (two real Prosody
# servers, the two node binaries of examples/quickstart/cluster.yaml, the
# example component examples/quickstart/muc.py, two real slixmpp users),
# then checks its transcript: every step ended "[ ok ]", each flow the
# issue promises is there (bob's disco#info answered by vcomp-node2, bob's
# stanzas over the peer link to the component, the component's back to
# him, alice served by vcomp-node1 alone), both users heard each other,
# the counters and "where to look next" are printed, and it took under a
# minute.  Then that nothing is left running: none of the pids the demo
# printed, none of its ports.  Also: KEEP=1 leaves the cluster up and
# `tools/demo.sh stop` takes it down; a busy port makes the demo refuse
# to start, with a message that names the port, and start nothing.
#
# Run by `make check` with VCOMPC, B and SAN in the environment.  Under
# SAN=1 it is skipped: the demo runs the static binaries of the normal
# build, which the normal pass has already checked.  The transcripts are
# kept in a temporary directory when a check fails (its path is printed).
set -u
. "$(dirname "$0")/integration/lib.sh"
: "${VCOMPC:?VCOMPC must name the vcompc binary}"
: "${B:?B must name the build directory}"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO="$ROOT/tools/demo.sh"

[ "${SAN:-}" = 1 ] &&
    it_skip "under SAN: the demo runs the static binaries of the normal build"
it_require "the demo" prosody python3-slixmpp

it_init demo
W=$IT_WORK
export B VCOMPC
unset KEEP
# The demo's ports: the c2s ports it chooses and the spec's.
PORTS="5222 6222 5347 6347 5277 6277 5348 6348"
PIDS_FILE=$B/demo/pids

# demo_pids FILE: the pids a transcript printed ("NAME pid N ...").
demo_pids() { grep -Eo ' pid [0-9]+ ' "$1" | awk '{ print $2 }'; }

# leftovers FILE: the pids of FILE that still run a demo process, and the
# demo ports that still accept.  A pid that now belongs to another
# program (reused) does not count; a zombie has no command line.
leftovers() {
	local pid p
	for pid in $(demo_pids "$1"); do
		if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" |
		    grep -Eq 'prosody|vcomp-node|muc\.py|client\.py'; then
			echo "pid $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
		fi
	done
	for p in $PORTS; do
		it_port_open "$p" && echo "port $p still accepts"
	done
}

# count_re FILE REGEX: number of matching lines.
count_re() { grep -Ec -- "$2" "$1"; }

# --------------------------------------------------------- 1. a full run
echo "== 1. make demo, non-interactively"
busy=$(for p in $PORTS; do it_port_open "$p" && echo "$p"; done)
if [ -n "$busy" ]; then
	it_fail "1 the demo's ports are free before the test (busy: $(echo $busy))"
	it_summary
	exit 1
fi
T=$W/demo.out
t0=$SECONDS
# The README's command itself (deps and the build are already done, so
# make only runs the demo).  MAKEFLAGS from the calling make would leak
# -j and the build dir; the demo uses the normal build, as a user's would.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$ROOT" demo </dev/null >"$T" 2>&1
rc=$?
took=$(( SECONDS - t0 ))
it_log "demo exit status $rc in ${took}s"
if [ $rc = 0 ]; then
	it_pass "1a demo exits 0"
else
	it_fail "1a demo exits 0 (got $rc)" "$T"
fi
if [ $took -lt 60 ]; then
	it_pass "1b demo finishes in under a minute (${took}s)"
else
	it_fail "1b demo finishes in under a minute (${took}s)"
fi

# Every step, by its title, ended "[ ok ]"; none "[FAIL]".
STEPS=(
	"1. alice@node1 looks for services on her server (disco#items)"
	"2. alice@node1 asks muc.example.test what it is (disco#info)"
	"3. bob@node2 looks for services on his server (disco#items)"
	"4. bob@node2 asks muc.example.test what it is (disco#info)"
	"5. alice@node1 joins room@muc.example.test"
	"6. bob@node2 joins room@muc.example.test"
	"7. alice@node1 says hello"
	"8. bob@node2 answers"
)
notok=
for s in "${STEPS[@]}"; do
	grep -qxF "   [ ok ] $s" "$T" || notok="$notok
    $s"
done
if [ -z "$notok" ] && [ "$(count_re "$T" '^ +\[ ok \] ')" = ${#STEPS[@]} ] &&
    ! grep -q '\[FAIL\]' "$T" && grep -qx "demo: all ${#STEPS[@]} steps succeeded; stopping everything" "$T"; then
	it_pass "1c all ${#STEPS[@]} steps marked [ ok ], none [FAIL]"
else
	it_fail "1c all ${#STEPS[@]} steps marked [ ok ], none [FAIL]; not ok:$notok" "$T"
fi

# step_text N: the transcript of step N (from its title to its marker).
step_text() {
	awk -v n="$1" '
	    $0 ~ "^   " n "\\. " { on = 1 }
	    on { print }
	    on && $0 ~ "^   \\[(ok|FAIL| ok )\\] " n "\\. " { exit }' "$T"
}

# check_step ID N DESCRIPTION REGEX...: every REGEX matches a line of step N.
check_step() {
	local id=$1 n=$2 what=$3 re miss=
	shift 3
	for re in "$@"; do
		step_text "$n" | grep -Eq -- "$re" || miss="$miss [$re]"
	done
	if [ -z "$miss" ]; then
		it_pass "$id $what"
	else
		it_fail "$id $what; missing:$miss"
		step_text "$n" | sed 's/^/  | /'
	fi
}

check_step 1d 1 "alice's server lists the component; no runtime involved" \
    '^ +alice: ITEM muc\.example\.test$' 'no stanza reached vcomp-node1 or vcomp-node2'
check_step 1e 3 "bob's server (node2) lists the component; no runtime involved" \
    '^ +bob: ITEM muc\.example\.test$' 'no stanza reached vcomp-node1 or vcomp-node2'
check_step 1f 2 "alice's disco#info answered by vcomp-node1" \
    '^ +alice: IDENTITY conference/text/Chatrooms$' \
    '^ +1  alice@node1 → muc\.example\.test +answered locally by vcomp-node1'
check_step 1g 4 "bob's disco#info answered by vcomp-node2, nothing over the link" \
    '^ +bob: FROM muc\.example\.test$' '^ +bob: IDENTITY conference/text/Chatrooms$' \
    '^ +1  bob@node2 → muc\.example\.test +answered locally by vcomp-node2'
if step_text 4 | grep -q 'peer link'; then
	it_fail "1h bob's disco#info does not cross the peer link"
	step_text 4 | sed 's/^/  | /'
else
	it_pass "1h bob's disco#info does not cross the peer link"
fi
check_step 1i 5 "alice joins on node1: vcomp-node1 and the component only" \
    '^ +alice: JOINED room@muc\.example\.test/alice$' \
    '^ +1  alice@node1 → room@muc +vcomp-node1 → component' \
    "^ +1  component → alice@node1 +delivered by vcomp-node1's upstream"
check_step 1j 6 "bob joins from node2: over the peer link and back, alice told" \
    '^ +bob: OCCUPANT alice$' '^ +bob: JOINED room@muc\.example\.test/bob$' \
    '^ +1  bob@node2 → room@muc +vcomp-node2 → peer link → vcomp-node1 → component' \
    '^ +2  component → bob@node2 +vcomp-node1 → peer link → vcomp-node2 → Prosody node2' \
    "^ +1  component → alice@node1 +delivered by vcomp-node1's upstream"
check_step 1k 7 "alice's message reaches bob on node2" \
    '^ +bob: HEARD from=room@muc\.example\.test/alice body=Hi bob' \
    '^ +1  component → bob@node2 +vcomp-node1 → peer link → vcomp-node2'
check_step 1l 8 "bob's message reaches alice on node1" \
    '^ +alice: HEARD from=room@muc\.example\.test/bob body=Hello alice' \
    '^ +1  bob@node2 → room@muc +vcomp-node2 → peer link → vcomp-node1 → component' \
    "^ +1  component → alice@node1 +delivered by vcomp-node1's upstream"
if grep -q MISMATCH "$T"; then
	it_fail "1m both ends of the peer link counted the same stanzas" "$T"
else
	it_pass "1m both ends of the peer link counted the same stanzas"
fi

# The counters table: both runtimes, one disco answered locally on each.
if grep -Eq '^ +vcomp-node1 +vcomp-node2$' "$T" &&
    grep -Eq '^ +muc\.example\.test local +1 +1$' "$T" &&
    grep -Eq '^ +muc\.example\.test bounced +0 +0$' "$T" &&
    grep -Eq '^ +peer link frames in/out +[0-9]+/[0-9]+ +[0-9]+/[0-9]+$' "$T"; then
	it_pass "1n the runtimes' counters are printed (local 1 and 1, nothing bounced)"
else
	it_fail "1n the runtimes' counters are printed (local 1 and 1, nothing bounced)" "$T"
fi
if grep -q '^== Where to look next' "$T" && grep -q 'docs/runtime.md' "$T" &&
    grep -q 'examples/quickstart/README.md' "$T" && grep -q 'man -l docs/man/vcompc.1' "$T"; then
	it_pass "1o 'where to look next' names docs, examples and man pages"
else
	it_fail "1o 'where to look next' names docs, examples and man pages" "$T"
fi

# examples/quickstart/README.md quotes step 6; it must still be what the
# demo prints (the README's code block is indented 4 more spaces).
quoted=$(sed -n '/^       6\. bob@node2 joins/,/^       \[ ok \] 6\./p' \
    "$ROOT/examples/quickstart/README.md" | sed 's/^    //')
drift=
while IFS= read -r l; do
	grep -qxF -- "$l" "$T" || drift="$drift
    $l"
done <<<"$quoted"
if [ "$(printf '%s\n' "$quoted" | wc -l)" -ge 5 ] && [ -z "$drift" ]; then
	it_pass "1r examples/quickstart/README.md quotes step 6 as the demo prints it"
else
	it_fail "1r examples/quickstart/README.md quotes step 6 as the demo prints it; not in the transcript:$drift"
fi

# Nothing left: the 7 processes it printed are gone, its ports are free.
npids=$(demo_pids "$T" | wc -l)
left=$(leftovers "$T")
if [ "$npids" = 7 ] && [ -z "$left" ] && [ ! -e "$PIDS_FILE" ]; then
	it_pass "1p nothing left running (7 pids gone, ports free, no pid file)"
else
	it_fail "1p nothing left running ($npids pids printed; left: $left)"
fi
# The runtimes were stopped gracefully (SIGTERM), so they logged "stopped".
if grep -q ': info: stopped$' "$B/demo/vcomp-node1.log" &&
    grep -q ': info: stopped$' "$B/demo/vcomp-node2.log"; then
	it_pass "1q both runtimes shut down gracefully"
else
	it_fail "1q both runtimes shut down gracefully" "$B/demo/vcomp-node1.log" \
	    "$B/demo/vcomp-node2.log"
fi

# -------------------------------------------------- 2. KEEP=1, then stop
echo "== 2. KEEP=1 leaves the cluster running; tools/demo.sh stop ends it"
K=$W/keep.out
KEEP=1 bash "$DEMO" </dev/null >"$K" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q '^demo: all 8 steps succeeded; the cluster is running$' "$K" &&
    grep -q 'port 5222 tls disable' "$K" && grep -q 'port 6222 tls disable' "$K" &&
    grep -q 'bash tools/demo.sh stop' "$K"; then
	it_pass "2a KEEP=1: the demo succeeds and prints how to connect and how to stop"
else
	it_fail "2a KEEP=1: the demo succeeds and prints how to connect and how to stop" "$K"
fi
# Still serving: a user logs in to node2 and talks in the room.
if printf 'join room@muc.example.test/carol\nsay room@muc.example.test still here\nquit\n' |
    "$IT_PY" "$IT_DIR/client.py" --port 6222 --user bob --resource keep --timeout 8 \
    session >"$W/keep-client.log" 2>&1 &&
    grep -q '^ECHO from=room@muc.example.test/carol body=still here$' "$W/keep-client.log"; then
	it_pass "2b the kept cluster still serves the room to a new user on node2"
else
	it_fail "2b the kept cluster still serves the room to a new user on node2" \
	    "$W/keep-client.log"
fi
bash "$DEMO" stop >"$W/stop.out" 2>&1
left=$(leftovers "$K")
if grep -q 'the demo cluster is stopped' "$W/stop.out" && [ -z "$left" ] &&
    [ ! -e "$PIDS_FILE" ]; then
	it_pass "2c tools/demo.sh stop: every process gone, ports free"
else
	it_fail "2c tools/demo.sh stop: every process gone, ports free (left: $left)" \
	    "$W/stop.out"
fi

# ------------------------------------------------------ 3. a busy port
echo "== 3. a busy port: a clear refusal, nothing started"
# Hold node1's component listen port (the spec's 5348) ourselves.
"$IT_PY" -c 'import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5348))
s.listen()
time.sleep(30)' &
HOLD=$!
it_track "$HOLD"
it_wait_port 5348 5 "$HOLD"
F=$W/busy.out
bash "$DEMO" </dev/null >"$F" 2>&1
rc=$?
it_kill "$HOLD"
if [ $rc = 1 ] && grep -q 'ports on 127.0.0.1 are in use: 5348' "$F" &&
    [ ! -e "$PIDS_FILE" ] && ! grep -q ' pid [0-9]' "$F"; then
	it_pass "3a busy port 5348: exit 1, the port named, nothing started"
else
	it_fail "3a busy port 5348: exit 1, the port named, nothing started (exit $rc)" "$F"
fi

[ "$IT_FAIL" -gt 0 ] && echo "demo: transcripts kept in $W"
it_summary
