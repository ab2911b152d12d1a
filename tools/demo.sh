#!/bin/bash
# demo.sh — `make demo`: the quick-start cluster, live, in under a minute.
#
#   alice ─c2s─▶ Prosody node1 ─XEP-0114─▶ vcomp-node1 ◀─XEP-0114─ muc.py
#                                              ║ peer link          (the real MUC)
#   bob ───c2s─▶ Prosody node2 ─XEP-0114─▶ vcomp-node2
#
# Compiles examples/quickstart/cluster.yaml with vcompc --all into one
# binary per node, starts two Prosody servers, both runtimes and the
# example component examples/quickstart/muc.py, all on 127.0.0.1, then lets
# alice (on node1) and bob (on node2) discover the component, join a room
# and talk.  What crossed which node is read from the runtimes' counters
# before and after every step (SIGUSR1 makes a runtime log them), not
# assumed.  Everything it started is stopped by pid when it exits or on
# Ctrl-C.
#
# usage: tools/demo.sh          run the demo (make demo)
#        KEEP=1 tools/demo.sh   leave the cluster running (make demo KEEP=1)
#        tools/demo.sh stop     stop a cluster left running by KEEP=1
#
# Environment: B (build directory, default build), VCOMPC (default
# $B/vcompc), DEMO_C2S1 and DEMO_C2S2 (the Prosody client ports, default
# 5222 and 6222).  The component, peer and listen ports are the spec's.
# Work files, logs and the pid list are in $B/demo/.  Each step ends with a
# line "[ ok ] N. ..." or "[FAIL] N. ..."; the exit status is 0 when every
# step succeeded (tests/check-demo.sh relies on both).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=${B:-build}
VCOMPC=${VCOMPC:-$B/vcompc}
KEEP=${KEEP:-0}
SPEC=examples/quickstart/cluster.yaml
D=$B/demo
PIDS=$D/pids
PY=/usr/bin/python3
IT=tests/integration
C2S1=${DEMO_C2S1:-5222}
C2S2=${DEMO_C2S2:-6222}
DOMAIN=muc.example.test
ROOM=room@$DOMAIN

if [ -t 1 ]; then
	BOLD=$'\033[1m' DIM=$'\033[2m' RED=$'\033[31m' GREEN=$'\033[32m' OFF=$'\033[0m'
else
	BOLD= DIM= RED= GREEN= OFF=
fi
section() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$OFF"; }
say() { printf '   %s\n' "$*"; }
die() { printf '%sdemo: %s%s\n' "$RED" "$*" "$OFF" >&2; exit 1; }

# ------------------------------------------------------------ processes
#
# Every process is recorded in $PIDS as "NAME PID WORD": stop() kills PID
# only while its command line still contains WORD, so a pid the kernel
# reused for something else is never touched.

# track NAME PID WORD
track() { echo "$1 $2 $3" >>"$PIDS"; }

# ours PID WORD: is PID alive and still the process we started?
ours() {
	[ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

# stop: SIGTERM to everything recorded, newest first, one at a time (the
# users log out before the component goes, the component before its
# runtime, the runtimes before their servers); SIGKILL after 5 s.
stop() {
	local name pid word i
	[ -f "$PIDS" ] || return 0
	while read -r name pid word; do
		ours "$pid" "$word" || continue
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 100); do
			ours "$pid" "$word" || break
			sleep 0.05
		done
		if ours "$pid" "$word"; then
			echo "demo: $name ($pid) did not stop; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	done < <(tac "$PIDS")
	# Reap the ones that are our children (quietly).
	wait 2>/dev/null
	rm -f "$PIDS"
}

running() {
	local name pid word
	[ -f "$PIDS" ] || return 1
	while read -r name pid word; do
		ours "$pid" "$word" && return 0
	done <"$PIDS"
	return 1
}

if [ "${1:-}" = stop ]; then
	if running; then
		stop
		echo "demo: the demo cluster is stopped"
	else
		rm -f "$PIDS"
		echo "demo: no demo cluster is running"
	fi
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: $0 [stop]" >&2; exit 2; }

# -------------------------------------------------------- preconditions
[ -x "$VCOMPC" ] || die "$VCOMPC is missing; run make (or make demo)"
[ -f "$B/libvcrt.a" ] || die "$B/libvcrt.a is missing; run make"
command -v prosody >/dev/null || die "prosody is not installed; run make deps (as root)"
"$PY" -c 'import slixmpp' 2>/dev/null ||
	die "python3-slixmpp is not installed; run make deps (as root)"
running && die "a demo cluster is already running (make demo KEEP=1);" \
	"stop it first: bash tools/demo.sh stop"

# The spec says where each secret comes from; the demo reads those names
# (and the addresses) from vcompc's view of the spec, not from a copy.
eval "$("$VCOMPC" --emit=json --node node1 "$SPEC" | "$PY" -c '
import json, sys
j = json.load(sys.stdin)
for i, node in enumerate(j["nodes"][:2], 1):
    for key in ("server", "peer", "listen"):
        print("%s%d=%s" % (key.upper(), i, node[key].rsplit(":", 1)[1]))
print("CLUSTER_SECRET_VAR=" + j["cluster_secret"]["env"])
print("MUC_SECRET_VAR=" + j["components"][0]["secret"]["env"])
')" || die "cannot read $SPEC with $VCOMPC --emit=json"

port_busy() { (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
busy=
for p in "$C2S1" "$C2S2" "$SERVER1" "$SERVER2" "$PEER1" "$PEER2" "$LISTEN1" "$LISTEN2"; do
	port_busy "$p" && busy="$busy $p"
done
if [ -n "$busy" ]; then
	echo "demo: these ports on 127.0.0.1 are in use:$busy" >&2
	command -v ss >/dev/null && for p in $busy; do
		ss -Htlnp "sport = :$p" 2>/dev/null | sed 's/^/      /' >&2
	done
	echo "demo: the demo needs them free (the c2s ports can be moved with" \
	    "DEMO_C2S1=... DEMO_C2S2=...; the others are the spec's)" >&2
	exit 1
fi

rm -rf "$D"
mkdir -p "$D/bin"

# On any exit (an error, Ctrl-C, the end of the demo) stop everything,
# unless KEEP=1 and the demo got to its end.
DEMO_DONE=0
cleanup() {
	if [ "$KEEP" = 1 ] && [ "$DEMO_DONE" = 1 ]; then
		return
	fi
	[ -n "${A_IN:-}" ] && exec {A_IN}>&-
	[ -n "${B_IN:-}" ] && exec {B_IN}>&-
	stop
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; stopping everything" >&2; exit 130' INT TERM
# A closed terminal or output pipe (make demo | head) must not leave the
# cluster behind either.
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Fresh secrets for every run; they live only in the environment of the
# processes started here.
export "$CLUSTER_SECRET_VAR=demo-cluster-$(head -c 12 /dev/urandom | base64)"
export "$MUC_SECRET_VAR=demo-muc-$(head -c 12 /dev/urandom | base64)"
MUC_SECRET=${!MUC_SECRET_VAR}

# wait_log FILE REGEX SECONDS
wait_log() {
	local i
	for i in $(seq $(( $3 * 20 ))); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# ------------------------------------------------------------ 1. build
section "The cluster: examples/quickstart/cluster.yaml"
say "two XMPP servers for example.test (node1, node2); the MUC service"
say "$DOMAIN really runs beside node1 (its home); on node2, vcomp stands in."
printf '\n   %s$ %s --all -d %s %s%s\n' "$DIM" "$VCOMPC" "$D/bin" "$SPEC" "$OFF"
"$VCOMPC" --all -d "$D/bin" "$SPEC" >"$D/build.log" 2>&1 ||
	{ cat "$D/build.log" >&2; die "vcompc --all failed"; }
for n in 1 2; do
	f=$D/bin/vcomp-node$n
	[ -x "$f" ] || die "$f was not built (see $D/build.log)"
	printf '   %-12s %8d bytes, %s\n' "vcomp-node$n" "$(wc -c <"$f")" \
	    "$(file -b "$f" | grep -o 'statically linked\|dynamically linked')"
done

# ------------------------------------------------------------ 2. start
section "Starting it (all on 127.0.0.1; logs in $D/)"
# prosody-up.sh writes the config (Component "muc.example.test" with the
# same secret), the accounts alice/alicepw and bob/bobpw, and starts it.
for n in 1 2; do
	c2s=C2S$n server=SERVER$n
	P=$(bash "$IT/prosody-up.sh" "$D/prosody$n" "${!c2s}" "${!server}" \
	    "$MUC_SECRET" 2>"$D/prosody$n.err") ||
		{ cat "$D/prosody$n.err" >&2; die "Prosody node$n did not start"; }
	track "prosody-node$n" "$P" "$D/prosody$n/prosody.cfg.lua"
	printf '   %-14s pid %-7s c2s %-5s component port %s\n' "Prosody node$n" "$P" \
	    "${!c2s}" "${!server}"
done

declare -A RT
for n in 1 2; do
	setsid "$D/bin/vcomp-node$n" >"$D/vcomp-node$n.log" 2>&1 &
	RT[$n]=$!
	track "vcomp-node$n" "${RT[$n]}" "vcomp-node$n"
done
for n in 1 2; do
	wait_log "$D/prosody$n/prosody.log" 'External component successfully authenticated' 5 ||
		{ tail "$D/vcomp-node$n.log" >&2; die "vcomp-node$n did not connect to Prosody node$n"; }
	peerp=PEER$n
	printf '   %-14s pid %-7s upstream to Prosody node%s, peer port %s\n' \
	    "vcomp-node$n" "${RT[$n]}" "$n" "${!peerp}"
done
wait_log "$D/vcomp-node1.log" 'peer node2 .*authenticated' 5 ||
	{ tail "$D/vcomp-node1.log" "$D/vcomp-node2.log" >&2; die "the peer link did not come up"; }
say "peer link vcomp-node1 ═ vcomp-node2 authenticated"

MUC_SECRET="$MUC_SECRET" setsid "$PY" examples/quickstart/muc.py --port "$LISTEN1" \
    >"$D/muc.log" 2>&1 &
MUC=$!
track muc.py "$MUC" muc.py
wait_log "$D/vcomp-node1.log" "component $DOMAIN .*authenticated" 8 ||
	{ cat "$D/muc.log" >&2; die "muc.py did not connect to vcomp-node1"; }
wait_log "$D/vcomp-node2.log" "real component $DOMAIN connected there" 5 ||
	die "vcomp-node2 did not hear that the component is up on node1"
printf '   %-14s pid %-7s connected to vcomp-node1 at 127.0.0.1:%s\n' muc.py "$MUC" "$LISTEN1"

# The two users: client.py sessions that read one command per line from
# a FIFO and answer "DONE ok" or "DONE fail ..." in their log.
user_start() {     # user_start NAME NODE PORT FD-VARIABLE
	local name=$1 node=$2 port=$3 pid
	mkfifo "$D/$name.in"
	exec {fd}<>"$D/$name.in"
	printf -v "$4" %s "$fd"
	setsid "$PY" "$IT/client.py" --port "$port" --user "$name" --resource demo \
	    --timeout 8 session <"$D/$name.in" >"$D/$name.log" 2>"$D/$name.err" &
	pid=$!
	track "$name" "$pid" client.py
	wait_log "$D/$name.log" '^READY' 8 ||
		{ cat "$D/$name.log" "$D/$name.err" >&2; die "$name could not log in to node$node"; }
	printf '   %-14s pid %-7s logged in to Prosody node%s as %s@example.test/demo\n' \
	    "$name" "$pid" "$node" "$name"
}
user_start alice 1 "$C2S1" A_IN
user_start bob 2 "$C2S2" B_IN

# ---------------------------------------------------- counters as evidence
#
# snap NAME: both runtimes' counters now, in $D/snap/NAME.nodeN (the
# Prometheus samples, "name{labels} value" lines, that the stats listener
# serves at /metrics).  SIGUSR1 makes a runtime log every sample at once;
# the first dump tells how many lines one dump has.
mkdir -p "$D/snap"
declare -A DUMP_LINES
snap() {
	local n log before want i
	for n in 1 2; do
		log=$D/vcomp-node$n.log
		before=$(grep -c ': stats: ' "$log")
		kill -USR1 "${RT[$n]}" || return 1
		if [ -z "${DUMP_LINES[$n]:-}" ]; then
			wait_log "$log" ': stats: ' 3 || return 1
			sleep 0.2
			DUMP_LINES[$n]=$(( $(grep -c ': stats: ' "$log") - before ))
		fi
		want=$(( before + DUMP_LINES[$n] ))
		for i in $(seq 60); do
			[ "$(grep -c ': stats: ' "$log")" -ge "$want" ] && break
			sleep 0.05
		done
		grep ': stats: ' "$log" | tail -n "${DUMP_LINES[$n]}" |
		    sed 's/.*: stats: //' >"$D/snap/$1.node$n"
	done
}

# cval SNAP NODE K: component counter K ("local", "bounced", ...) of
# $DOMAIN in snapshot SNAP of node NODE, summed over its other labels
# (bounced has one sample per reason).
cval() {
	local name
	case $3 in
	in|out) name=vcomp_component_stanzas_$3_total ;;
	*) name=vcomp_component_$3_total ;;
	esac
	pval "$1" "$2" "$name" "component=\"$DOMAIN\""
}

# pval SNAP NODE NAME [LABELS]: the sum of metric NAME's samples whose
# labels contain LABELS, in snapshot SNAP of node NODE; 0 when none.
pval() {
	awk -v n="$3" -v m="${4:-}" '
	    { k = $1; i = index(k, "{"); name = i ? substr(k, 1, i - 1) : k }
	    name == n && index(k, m) > 0 { s += $2 }
	    END { printf "%d\n", s }' "$D/snap/$1.node$2"
}

# delta A B NODE K: how much component counter K of node NODE grew from A
# to B.
delta() {
	echo $(( $(cval "$2" "$3" "$4") - $(cval "$1" "$3" "$4") ))
}

# ask USER COMMAND...: one session command; prints the user's answer
# lines (indented); succeeds when it ended with "DONE ok".
ask() {
	local user=$1 fdvar fd log mark i last
	shift
	log=$D/$user.log
	[ "$user" = alice ] && fdvar=A_IN || fdvar=B_IN
	fd=${!fdvar}
	mark=$(wc -l <"$log")
	echo "$*" >&"$fd"
	for i in $(seq 200); do
		tail -n +"$(( mark + 1 ))" "$log" | grep -q '^DONE' && break
		sleep 0.05
	done
	tail -n +"$(( mark + 1 ))" "$log" | grep -v '^>' | grep -v '^DONE' |
	    sed "s/^/      $user: /"
	last=$(tail -n +"$(( mark + 1 ))" "$log" | grep '^DONE' | head -n 1)
	[ "$last" = "DONE ok" ] || { echo "      $user: ${last:-no answer}"; return 1; }
}

# flow COUNT WHO WHERE: one aligned line of the transcript.  printf pads
# bytes, and an arrow is three of them in UTF-8: pad by hand, counting
# each arrow as one column, so that it lines up in any locale.
flow() {
	local who=$2 plain
	plain=${who//→/>}
	printf '      %3s  %s%*s  %s\n' "$1" "$who" $(( 30 - ${#plain} )) "" "$3"
}

# flows A B: what crossed which node between snapshots A and B, read from
# the counters (the cluster has one home, node1, and one user per node, so
# every counter has one meaning here):
#   vcomp-node2 local      disco#info answered by vcomp-node2
#   vcomp-node1 local      disco#info answered by vcomp-node1
#   vcomp-node2 to_peer    bob's stanzas sent to the home over the link
#   vcomp-node1 forwarded  stanzas written to the component, of which
#               from_peer  came over the link; the rest are alice's
#   vcomp-node1 to_peer    the component's stanzas sent back toward node2
#   vcomp-node1 upstreamed the component's stanzas written to Prosody node1
# Sets FLOWS to "name=count ..." of the non-zero flows, prints them, and
# prints a line for any count that disagrees between the two runtimes.
flows() {
	local a=$1 b=$2 n1l n2l n1f n1fp n2tp n1tp n2fp n2up n1up bad other
	n1l=$(delta "$a" "$b" 1 local)
	n2l=$(delta "$a" "$b" 2 local)
	n1f=$(delta "$a" "$b" 1 forwarded)
	n1fp=$(delta "$a" "$b" 1 from_peer)
	n2tp=$(delta "$a" "$b" 2 to_peer)
	n1tp=$(delta "$a" "$b" 1 to_peer)
	n2fp=$(delta "$a" "$b" 2 from_peer)
	n2up=$(delta "$a" "$b" 2 upstreamed)
	n1up=$(delta "$a" "$b" 1 upstreamed)
	other=0
	for k in queued bounced dropped rejected; do
		other=$(( other + $(delta "$a" "$b" 1 $k) +
		    $(delta "$a" "$b" 2 $k) ))
	done
	FLOWS=
	bad=0
	if [ "$n1l$n2l$n1f$n2tp$n1tp$n1up$other" = 0000000 ]; then
		flow - "(Prosody answered)" "no stanza reached vcomp-node1 or vcomp-node2"
	fi
	[ "$n2l" -gt 0 ] && { FLOWS="$FLOWS local2=$n2l"
		flow "$n2l" "bob@node2 → $DOMAIN" "answered locally by vcomp-node2 (disco#info)"; }
	[ "$n1l" -gt 0 ] && { FLOWS="$FLOWS local1=$n1l"
		flow "$n1l" "alice@node1 → $DOMAIN" "answered locally by vcomp-node1 (disco#info)"; }
	[ $(( n1f - n1fp )) -gt 0 ] && { FLOWS="$FLOWS a2c=$(( n1f - n1fp ))"
		flow $(( n1f - n1fp )) "alice@node1 → room@muc" "vcomp-node1 → component (no peer link)"; }
	[ "$n2tp" -gt 0 ] && { FLOWS="$FLOWS b2c=$n2tp"
		flow "$n2tp" "bob@node2 → room@muc" "vcomp-node2 → peer link → vcomp-node1 → component"; }
	[ "$n1tp" -gt 0 ] && { FLOWS="$FLOWS c2b=$n1tp"
		flow "$n1tp" "component → bob@node2" "vcomp-node1 → peer link → vcomp-node2 → Prosody node2"; }
	[ "$n1up" -gt 0 ] && { FLOWS="$FLOWS c2a=$n1up"
		flow "$n1up" "component → alice@node1" "delivered by vcomp-node1's upstream → Prosody node1"; }
	[ "$other" -gt 0 ] && { FLOWS="$FLOWS other=$other"
		flow "$other" "(queued, bounced, dropped)" "stanzas that did not go straight through"; }
	# Both ends of the link must tell the same story.
	if [ "$n2tp" != "$n1fp" ]; then
		flow ! MISMATCH "vcomp-node2 sent $n2tp over the link, vcomp-node1 received $n1fp"
		bad=1
	fi
	if [ "$n1tp" != "$n2fp" ] || [ "$n2fp" != "$n2up" ]; then
		flow ! MISMATCH "vcomp-node1 sent $n1tp back, vcomp-node2 received $n2fp, wrote $n2up"
		bad=1
	fi
	FLOWS=${FLOWS# }
	return $bad
}

# step N TITLE EXPECTED-FLOWS USER COMMAND [USER COMMAND]...: run the
# commands in order, then compare what crossed the nodes with
# EXPECTED-FLOWS ("" = no runtime involved).
NSTEP=0 NFAIL=0
step() {
	local title=$1 want=$2 ok=1 before after mlines
	shift 2
	NSTEP=$(( NSTEP + 1 ))
	before=s$NSTEP-before after=s$NSTEP-after
	printf '\n   %s%d. %s%s\n' "$BOLD" "$NSTEP" "$title" "$OFF"
	snap "$before" || ok=0
	mlines=$(wc -l <"$D/muc.log")
	while [ $# -ge 2 ]; do
		ask "$1" "$2" || ok=0
		shift 2
	done
	snap "$after" || ok=0
	tail -n +"$(( mlines + 1 ))" "$D/muc.log" | grep '^muc.py: ' |
	    sed 's/^muc.py: /      muc.py: /'
	printf '      %s%s%s\n' "$DIM" "what crossed which node (stanzas, from the runtimes' counters):" "$OFF"
	flows "$before" "$after" || ok=0
	if [ "$FLOWS" != "$want" ]; then
		printf '      expected: %s\n      counted:  %s\n' "${want:-nothing}" "${FLOWS:-nothing}"
		ok=0
	fi
	if [ $ok = 1 ]; then
		printf '   %s[ ok ]%s %d. %s\n' "$GREEN" "$OFF" "$NSTEP" "$title"
	else
		printf '   %s[FAIL]%s %d. %s\n' "$RED" "$OFF" "$NSTEP" "$title"
		NFAIL=$(( NFAIL + 1 ))
	fi
}

# ------------------------------------------------------------ 3. talk
section "The conversation (alice on node1, bob on node2)"
step "alice@node1 looks for services on her server (disco#items)" "" \
    alice "disco-items example.test"
step "alice@node1 asks $DOMAIN what it is (disco#info)" "local1=1" \
    alice "disco-info $DOMAIN"
step "bob@node2 looks for services on his server (disco#items)" "" \
    bob "disco-items example.test"
step "bob@node2 asks $DOMAIN what it is (disco#info)" "local2=1" \
    bob "disco-info $DOMAIN"
step "alice@node1 joins $ROOM" "a2c=1 c2a=1" \
    alice "join $ROOM/alice"
step "bob@node2 joins $ROOM" "b2c=1 c2b=2 c2a=1" \
    bob "join $ROOM/bob"
step "alice@node1 says hello" "a2c=1 c2b=1 c2a=1" \
    alice "say $ROOM Hi bob, I am on node1" \
    bob "hear Hi bob, I am on node1"
step "bob@node2 answers" "b2c=1 c2b=1 c2a=1" \
    bob "say $ROOM Hello alice, greetings from node2" \
    alice "hear Hello alice, greetings from node2"

# Both users' disco#items must have listed the component.
for u in alice bob; do
	grep -qx "ITEM $DOMAIN" "$D/$u.log" ||
		{ echo "   [FAIL] $u's server did not list $DOMAIN"; NFAIL=$(( NFAIL + 1 )); }
done

# ------------------------------------------------------------ 4. counters
section "The runtimes' counters (SIGUSR1; also logged at exit)"
snap final
printf '   %-28s %12s %12s\n' "" vcomp-node1 vcomp-node2
for k in in out local forwarded to_peer from_peer upstreamed queued bounced \
    bytes_in bytes_out; do
	printf '   %-28s %12s %12s\n' "$DOMAIN $k" \
	    "$(cval final 1 "$k")" "$(cval final 2 "$k")"
done
printf '   %-28s %12s %12s\n' "peer link frames in/out" \
    "$(pval final 1 vcomp_peer_frames_in_total)/$(pval final 1 vcomp_peer_frames_out_total)" \
    "$(pval final 2 vcomp_peer_frames_in_total)/$(pval final 2 vcomp_peer_frames_out_total)"
printf '   %-28s %12s %12s\n' "return routes (home only)" \
    "$(pval final 1 vcomp_return_routes)" "-"

# ------------------------------------------------------------ 5. next
section "Where to look next"
cat <<TXT
   examples/quickstart/README.md   this cluster, command by command
   examples/quickstart/muc.py      the example component, a small MUC
   docs/guide.md                   concepts, flows, deploying one binary per node
   docs/cluster.md                 peer links, return routes, failover
   docs/runtime.md                 a node's logs, signals and counters
   docs/spec-reference.md          every key of the spec
   man -l docs/man/vcompc.1        also vcomp.8, vcomp.yaml.5 (make install installs them)
   examples/                       more clusters; make examples builds them all
TXT
printf '   %-31s %s\n' "$D/" "this run's binaries, Prosody configs and logs"

if [ "$NFAIL" -gt 0 ]; then
	section "Result"
	printf '   %s%d of %d steps failed%s; logs in %s/\n' "$RED" "$NFAIL" "$NSTEP" "$OFF" "$D"
	exit 1
fi

# The users log out (their servers tell the room they left).
ask alice quit >/dev/null
ask bob quit >/dev/null

if [ "$KEEP" = 1 ]; then
	DEMO_DONE=1
	section "The cluster keeps running (KEEP=1)"
	cat <<TXT
   Connect a desktop client without TLS, e.g. profanity:
     node1:  /connect alice@example.test server 127.0.0.1 port $C2S1 tls disable
     node2:  /connect bob@example.test server 127.0.0.1 port $C2S2 tls disable
   (passwords alicepw and bobpw; both accounts exist on both nodes), then
     /join $ROOM
   In Gajim: add an account, "Advanced": server 127.0.0.1, port $C2S1 or $C2S2,
   allow unencrypted connections.  What crossed where: kill -USR1 ${RT[1]} ${RT[2]},
   then read $D/vcomp-node1.log and $D/vcomp-node2.log.

   Stop it:  bash tools/demo.sh stop     (kills the pids in $PIDS)
TXT
	echo
	echo "demo: all $NSTEP steps succeeded; the cluster is running"
	exit 0
fi

echo
echo "demo: all $NSTEP steps succeeded; stopping everything"
