#!/bin/bash
# check-rolling.sh — changes of the spec rolled through a live cluster one
# node at a time, under traffic, cost users nothing.
#
# Three real Prosody servers, one vcomp runtime beside each, the example
# MUC (examples/quickstart/muc.py, with --reconnect: it keeps its rooms
# while its home's runtime restarts) homed on node1 (failover node3), and
# one user per node (alice, bob, carol) in one room, each sending numbered
# groupchat messages (client.py muc-flood) for the whole run.  Each change
# is planned (`vcompc plan` must accept it), built, and rolled node by node
# in the order the plan prints, as an operator upgrades in place: install
# the new binary over the path the runtime was started from (a temporary
# name, then rename; for node2 a release directory per version and that
# path a symlink re-pointed to it, which the upgrade must follow),
# SIGUSR2 (systemd: ExecReload), wait for the new
# image's "upgraded in place" and its peer links.  The XEP-0114 sessions
# survive the swap: muc.py must never see a disconnect.  Per change it
# prints a line
#
#   CHANGE name: sent S delivered D bounced B false-bounces F duplicated U
#                lost L gap G s
#
# counted over the messages sent while that change rolled: delivered =
# received by every occupant, bounced = came back to the sender as an
# error, false-bounces = bounced although an occupant received it,
# duplicated = extra copies received, lost = neither delivered to every
# occupant nor bounced, gap = the longest time a user received no message
# of the stream.  Required for every change: lost = 0, bounced = 0, false
# bounces = 0, gap < 2 s.
#
# The changes: a comment (plan: every binary unchanged, none deployed), a
# disco feature, the home list's order, a component added (homed on node2;
# the MUC's links must not notice), the three rolls of a cluster secret
# rotation ([K1, K2], [K2, K1], [K2]), the first roll of a component secret
# rotation (the home accepts [S1, S2]), the added component removed, a
# fourth node added and removed again.  node4 has its own Prosody (started
# with the others) and user, dave: the plan rolls node1..node3 first, then
# node4's runtime is started fresh and dave joins the room and sends like
# the others; the removal stops node4 first (dave leaves the room, then
# SIGTERM: exit 0), then upgrades the others.  Dave counts as an occupant
# from his first message to his last: his messages, and the others' sent
# in that window, must reach him and the three others.
#
# Last, an upgrade to a binary that would not start (its spec names an
# environment variable that is not set): the pre-flight must refuse it
# before anything is drained; and an upgrade whose execve() fails
# (node1's new binary is an executable file that is no program): node1
# must resume on its running image, link again and keep serving; each
# accounted as one more change.
#
# Run by `make check` (check-integration) and alone by `make
# check-rolling`, with VCOMPC, B, SAN and CC in the environment.
# Takes about 60-70 s.
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "rolling-change test" prosody python3-slixmpp

it_init rolling
W=$IT_WORK
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENT="$IT_PY $IT_DIR/client.py"
MUC="$IT_PY $ROOT/examples/quickstart/muc.py"
DOMAIN=muc.example.test
ROOM=roll@$DOMAIN
AUTH_RE=$IT_AUTH_RE
RATE=${IT_ROLL_RATE:-20}
USERS=(alice bob carol)   # alice on node1, bob on node2, carol on node3
DAVE=dave                 # on node4, while the cluster has it

echo "rolling: work dir and logs in $W (kept on failure)"

it_node_ports 1 2 3 4 || { echo "FAIL: no free ports"; exit 1; }

export VCOMP_ROLL_S1="roll-comp-$RANDOM$RANDOM$$"
export VCOMP_ROLL_S2="roll-comp2-$RANDOM$RANDOM$$"
export VCOMP_ROLL_K1="roll-cluster-$RANDOM$RANDOM$$"
export VCOMP_ROLL_K2="roll-cluster2-$RANDOM$RANDOM$$"
export MUC_SECRET=$VCOMP_ROLL_S1

# The spec the cluster starts from; each change is a sed of it.
cat >"$W/v0.yaml" <<EOF
# The cluster of the rolling-change test.
cluster:
  secret: {env: VCOMP_ROLL_K1}
nodes:
  node1: {server: 127.0.0.1:${SERVER[1]}, peer: 127.0.0.1:${PEERP[1]}, listen: 127.0.0.1:${LISTEN[1]}}
  node2: {server: 127.0.0.1:${SERVER[2]}, peer: 127.0.0.1:${PEERP[2]}, listen: 127.0.0.1:${LISTEN[2]}}
  node3: {server: 127.0.0.1:${SERVER[3]}, peer: 127.0.0.1:${PEERP[3]}, listen: 127.0.0.1:${LISTEN[3]}}
components:
  $DOMAIN:
    home: [node1, node3]
    secret: {env: VCOMP_ROLL_S1}
    features: [http://jabber.org/protocol/muc]
limits:
  queue-age: 10s
  keepalive: 1s
  peer-timeout: 3s
  backoff-min: 50ms
  backoff-max: 200ms
EOF
CHANGES=(comment disco homes addcomp csecret1 csecret2 csecret3 compsecret1 rmcomp
    addnode rmnode)
mk() {   # mk CHANGE: writes $W/CHANGE.yaml from the previous spec
	local prev=$1 new=$2
	case $new in
	comment) sed 's/^# The cluster of/# A comment edit.\n# The cluster of/' ;;
	disco) sed 's|features: \[http://jabber.org/protocol/muc\]|features: [http://jabber.org/protocol/muc, muc_persistent]|' ;;
	homes) sed 's/home: \[node1, node3\]/home: [node3, node1]/' ;;
	addcomp) sed 's/^limits:$/  echo.example.test:\n    home: node2\n    secret: {env: VCOMP_ROLL_S1}\nlimits:/' ;;
	rmcomp) sed '/^  echo.example.test:$/,/^    secret: {env: VCOMP_ROLL_S1}$/d' ;;
	csecret1) sed 's/secret: {env: VCOMP_ROLL_K1}/secret: [{env: VCOMP_ROLL_K1}, {env: VCOMP_ROLL_K2}]/' ;;
	csecret2) sed 's/secret: \[{env: VCOMP_ROLL_K1}, {env: VCOMP_ROLL_K2}\]/secret: [{env: VCOMP_ROLL_K2}, {env: VCOMP_ROLL_K1}]/' ;;
	csecret3) sed 's/secret: \[{env: VCOMP_ROLL_K2}, {env: VCOMP_ROLL_K1}\]/secret: {env: VCOMP_ROLL_K2}/' ;;
	# Only the first (the MUC's): echo.example.test keeps its secret.
	compsecret1) sed '0,/secret: {env: VCOMP_ROLL_S1}/s//secret: [{env: VCOMP_ROLL_S1}, {env: VCOMP_ROLL_S2}]/' ;;
	addnode) sed "/^  node3: /a\\  node4: {server: 127.0.0.1:${SERVER[4]}, peer: 127.0.0.1:${PEERP[4]}, listen: 127.0.0.1:${LISTEN[4]}}" ;;
	rmnode) sed '/^  node4: /d' ;;
	esac <"$W/$prev.yaml" >"$W/$new.yaml"
}

echo "== 0. plan and build every change"
it_san_link
prev=v0
ok=1
(cd "$W" && "$VCOMPC" --all -d bin-v0 v0.yaml) >"$W/build.log" 2>&1 || ok=0
for c in "${CHANGES[@]}"; do
	mk "$prev" "$c"
	if ! (cd "$W" && "$VCOMPC" plan "$prev.yaml" "$c.yaml") >"$W/plan-$c.txt" 2>&1; then
		it_fail "0 vcompc plan accepts $c" "$W/plan-$c.txt"
		ok=0
	fi
	(cd "$W" && "$VCOMPC" --all -d "bin-$c" "$c.yaml") >>"$W/build.log" 2>&1 || ok=0
	prev=$c
done
# A binary whose spec needs an environment variable the runtime lacks (as
# a reload under systemd keeps the old environment): its pre-flight
# refuses the upgrade (phase noenv).
sed 's/{env: VCOMP_ROLL_S2}/{env: VCOMP_ROLL_UNSET}/' \
    "$W/rmcomp.yaml" >"$W/noenv.yaml"
grep -q VCOMP_ROLL_UNSET "$W/noenv.yaml" || ok=0
(cd "$W" && "$VCOMPC" --all -d bin-noenv noenv.yaml) >>"$W/build.log" 2>&1 || ok=0
# A binary in which node2 becomes a home (a component listener on
# LISTEN[2], a port node2 does not listen on yet) while another program
# holds that port: its pre-flight refuses the upgrade (phase portbusy).
sed 's/^limits:$/  echo.example.test:\n    home: node2\n    secret: {env: VCOMP_ROLL_S1}\nlimits:/' \
    "$W/rmnode.yaml" >"$W/portbusy.yaml"
grep -q '^  echo.example.test:' "$W/portbusy.yaml" || ok=0
(cd "$W" && "$VCOMPC" --all -d bin-portbusy portbusy.yaml) >>"$W/build.log" 2>&1 || ok=0
if [ $ok = 1 ]; then
	it_pass "0a every change is planned as rollable and built"
else
	it_fail "0a every change is planned as rollable and built" "$W/build.log"
	it_summary
	exit 1
fi
# Under SAN=1 the binaries cannot be byte-identical: ASan's metadata
# names the table's temporary source file.
same_bin() { [ "${SAN:-}" = 1 ] || cmp -s "$1" "$2"; }
if grep -q '^  skip node3 (binary unchanged)$' "$W/plan-comment.txt" &&
    same_bin "$W/bin-v0/vcomp-node1" "$W/bin-comment/vcomp-node1" &&
    same_bin "$W/bin-v0/vcomp-node3" "$W/bin-comment/vcomp-node3"; then
	it_pass "0b a comment edit: plan skips every node, binaries byte-identical"
else
	it_fail "0b a comment edit: plan skips every node, binaries byte-identical" \
	    "$W/plan-comment.txt"
fi

for n in 1 2 3 4; do
	d=$W/prosody$n
	mkdir -p "$d/data/example%2etest/accounts"
	for u in "${USERS[@]}" $DAVE; do
		printf 'return { ["password"] = "%spw"; };\n' "$u" \
		    >"$d/data/example%2etest/accounts/$u.dat"
	done
	if bash "$IT_DIR/prosody-up.sh" "$d" "${C2S[$n]}" "${SERVER[$n]}" \
	    "$VCOMP_ROLL_S1" echo.example.test >/dev/null 2>"$W/prosody-up$n.log"; then
		it_track_prosody "$d"
	else
		it_fail "0c prosody node$n starts" "$W/prosody-up$n.log"
		it_summary
		exit 1
	fi
done

declare -A RT_PID
declare -A LINKS0
mkdir -p "$W/run"
# rt_launch N VERSION: installs node N's binary of VERSION as
# $W/run/vcomp-nodeN, starts it and waits for its upstream (Prosody logs
# the component); rt_links N then waits for its two peer links (every
# node has two: node1 and node3 are homes).
rt_launch() {
	local n=$1 v=$2 before
	before=$(grep -c "$AUTH_RE" "$W/prosody$n/prosody.log" 2>/dev/null)
	echo "=== start $v $(date +%T.%N)" >>"$W/runtime-node$n.log"
	LINKS0[$n]=$(grep -c ': authenticated (' "$W/runtime-node$n.log" 2>/dev/null)
	rt_install "$n" "$v"
	"$W/run/vcomp-node$n" >>"$W/runtime-node$n.log" 2>&1 &
	RT_PID[$n]=$!
	it_track "${RT_PID[$n]}"
	it_wait_count "$W/prosody$n/prosody.log" "$AUTH_RE" $(( ${before:-0} + 1 )) 5
}
rt_links() {
	it_wait_count "$W/runtime-node$1.log" ': authenticated \(' \
	    $(( ${LINKS0[$1]:-0} + 2 )) 5
}
# rt_install N VERSION: puts node N's binary of VERSION at
# $W/run/vcomp-nodeN the way operators deploy: for node1 and node3 the
# new file renamed over the old path (the running image keeps its
# inode); for node2 a release directory per version and the path a
# symlink re-pointed to it (ln -s + rename), which the upgrade must
# follow.
rt_install() {
	local n=$1 v=$2
	if [ "$n" = 2 ]; then
		mkdir -p "$W/rel/$v"
		cp "$W/bin-$v/vcomp-node$n" "$W/rel/$v/vcomp-node$n" &&
		    ln -sfn "../rel/$v/vcomp-node$n" "$W/run/.vcomp-node$n.new" &&
		    mv -fT "$W/run/.vcomp-node$n.new" "$W/run/vcomp-node$n"
	else
		cp "$W/bin-$v/vcomp-node$n" "$W/run/.vcomp-node$n.new" &&
		    mv -f "$W/run/.vcomp-node$n.new" "$W/run/vcomp-node$n"
	fi
}
# rt_upgrade N VERSION: the in-place upgrade of a deploy: rt_install,
# SIGUSR2, then the new image's "upgraded in place" line; for node2 the
# process must then run the new release's file (the symlink followed).
rt_upgrade() {
	local n=$1 v=$2 up0
	up0=$(grep -c 'upgraded in place' "$W/runtime-node$n.log")
	echo "=== upgrade to $v $(date +%T.%N)" >>"$W/runtime-node$n.log"
	LINKS0[$n]=$(grep -c ': authenticated (' "$W/runtime-node$n.log")
	rt_install "$n" "$v" &&
	    kill -USR2 "${RT_PID[$n]}" &&
	    it_wait_count "$W/runtime-node$n.log" 'upgraded in place' \
		$((up0 + 1)) 10 || return 1
	if [ "$n" = 2 ] &&
	    [ "$(readlink "/proc/${RT_PID[$n]}/exe")" != "$W/rel/$v/vcomp-node$n" ]; then
		echo "node2 runs $(readlink "/proc/${RT_PID[$n]}/exe"), not the re-pointed symlink's $W/rel/$v/vcomp-node$n" >>"$W/runtime-node$n.log"
		return 1
	fi
}

ok=1
for n in 1 2 3; do rt_launch "$n" v0 || ok=0; done
for n in 1 2 3; do rt_links "$n" || ok=0; done
it_wait_port "${LISTEN[1]}" 5 || ok=0
$MUC --port "${LISTEN[1]}" --reconnect >"$W/muc.log" 2>&1 &
MUC_PID=$!
it_track $MUC_PID
it_wait_count "$W/muc.log" 'connected as' 1 5 || ok=0
if [ $ok = 1 ]; then
	it_pass "0d three runtimes with their links, muc.py at node1"
else
	it_fail "0d three runtimes with their links, muc.py at node1" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/muc.log"
	it_summary
	exit 1
fi

# A node added: once its runtime is up, dave (a user of its server) joins
# the room and sends like the others, until the node is removed: then he
# leaves the room (his client stops, waits for the last messages and
# disconnects) and the node's runtime is stopped.  His messages count
# from his first one to his last; others' messages sent in that window
# must reach him too.
flood() {   # flood I USER NODE STOPFILE: user USER sends from node NODE
	$CLIENT --port "${C2S[$3]}" --user "$2" --timeout 4 muc-flood \
	    --room "$ROOM" --nick "$2" --rate "$RATE" \
	    --stop-file "$4" --out "$W/flood-$2.json" \
	    >"$W/flood-$2.log" 2>&1 &
	FLOOD[$1]=$!
	it_track "${FLOOD[$1]}"
}
node_add() {   # node_add N CHANGE: start node N's runtime, dave joins
	rt_launch "$1" "$2" && rt_links "$1" &&
	    flood 3 $DAVE "$1" "$W/stop-$DAVE" &&
	    it_wait_count "$W/flood-$DAVE.log" JOINED 1 10
}
node_remove() {   # node_remove N: dave leaves, node N's runtime stops
	touch "$W/stop-$DAVE"
	[ -n "${FLOOD[3]:-}" ] && [ -n "${RT_PID[$1]:-}" ] &&
	    it_wait_exit "${FLOOD[3]}" 10 &&
	    it_wait_count "$W/muc.log" "$DAVE left" 1 5 &&
	    kill -TERM "${RT_PID[$1]}" &&
	    it_wait_exit "${RT_PID[$1]}" 10 && [ "$IT_RC" = 0 ] &&
	    unset "RT_PID[$1]"
}

STOP=$W/stop
for i in 0 1 2; do flood "$i" "${USERS[$i]}" $((i + 1)) "$STOP"; done
for u in "${USERS[@]}"; do
	it_wait_count "$W/flood-$u.log" JOINED 1 10 ||
	    it_fail "0e $u joins $ROOM" "$W/flood-$u.log"
done

now() { date +%s.%N; }
echo "steady $(now)" >"$W/phases"
sleep 2
echo "steady-end $(now)" >>"$W/phases"

for c in "${CHANGES[@]}"; do
	echo "== roll $c"
	echo "$c $(now)" >>"$W/phases"
	# "N. nodeX" (upgrade, or start when new), "N. stop nodeX" (removed)
	order=$(sed -n -e 's/^  [0-9][0-9]*\. stop \(node[0-9]\).*/-\1/p' \
	    -e 's/^  [0-9][0-9]*\. \(node[0-9]\).*/\1/p' "$W/plan-$c.txt")
	for node in $order; do
		n=${node#*node}
		if [ "$node" = "-node$n" ]; then
			node_remove "$n" ||
			    it_fail "$c: $DAVE left, node$n stopped (exit 0)" \
				"$W/runtime-node$n.log" "$W/flood-$DAVE.log"
		elif [ -z "${RT_PID[$n]:-}" ]; then
			node_add "$n" "$c" ||
			    it_fail "$c: node$n started, linked, $DAVE joined" \
				"$W/runtime-node$n.log" "$W/flood-$DAVE.log"
		else
			{ rt_upgrade "$n" "$c" && rt_links "$n"; } ||
			    it_fail "$c: node$n upgraded in place, with its links" \
				"$W/runtime-node$n.log"
		fi
	done
	[ -z "$order" ] && echo "   (no binary changed: nothing to deploy)"
	sleep 1
	echo "$c-end $(now)" >>"$W/phases"
done

# An upgrade to a binary that would refuse to start (its spec needs an
# environment variable node1 lacks): the pre-flight (--check-upgrade)
# refuses it before anything is drained; node1 keeps serving, accounted
# as a change.
# refused N CHANGE PATTERN WHAT: node N is given CHANGE's binary, whose
# pre-flight must fail: the runtime logs "would not start: PATTERN",
# drains nothing and keeps serving; then the binary (or, for node2, the
# symlink) it runs is put back as $W/good-nodeN.
refused() {
	local n=$1 c=$2 re=$3 what=$4 log=$W/runtime-node$1.log n0 d0
	cp -P "$W/run/vcomp-node$n" "$W/good-node$n"
	n0=$(grep -c 'would not start' "$log")
	d0=$(grep -c 'upgrade: draining' "$log")
	rt_install "$n" "$c"
	kill -USR2 "${RT_PID[$n]}"
	if it_wait_count "$log" "would not start: .*$re" $((n0 + 1)) 10 &&
	    [ "$(grep -c 'upgrade: draining' "$log")" = "$d0" ]; then
		it_pass "$c: the pre-flight refuses the upgrade ($what), nothing drained"
	else
		it_fail "$c: the pre-flight refuses the upgrade ($what), nothing drained" "$log"
	fi
	cp -P "$W/good-node$n" "$W/run/.vcomp-node$n.new" &&
	    mv -fT "$W/run/.vcomp-node$n.new" "$W/run/vcomp-node$n"
}

echo "== roll noenv (a new binary that would not start, on node1)"
echo "noenv $(now)" >>"$W/phases"
refused 1 noenv VCOMP_ROLL_UNSET "a secret's variable is not set"
sleep 1
echo "noenv-end $(now)" >>"$W/phases"

echo "== roll portbusy (a new listener's port held by another program, on node2)"
echo "portbusy $(now)" >>"$W/phases"
"$IT_PY" -c 'import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen()
time.sleep(60)' "${LISTEN[2]}" >"$W/portbusy-holder.log" 2>&1 &
HOLDER=$!
it_track $HOLDER
it_wait_port "${LISTEN[2]}" 5 $HOLDER
refused 2 portbusy "${LISTEN[2]}.*already in use" "port ${LISTEN[2]} in use"
it_kill $HOLDER
sleep 1
echo "portbusy-end $(now)" >>"$W/phases"

# An upgrade whose execve() fails (an executable file that is no program)
# after the drain: node1, the MUC's home, stays on its running image,
# links again and goes on serving; the traffic is accounted as a change.
# The pre-flight passes (a script runs the good binary's) and puts the
# file that is no program in place, as a deploy racing the upgrade.
echo "== roll badexec (a new binary that cannot be executed, on node1)"
echo "badexec $(now)" >>"$W/phases"
LINKS0[1]=$(grep -c ': authenticated (' "$W/runtime-node1.log")
printf 'not a program\n' >"$W/notaprogram"
chmod 755 "$W/notaprogram"
cat >"$W/run/.vcomp-node1.new" <<EOF
#!/bin/sh
"$W/good-node1" "\$@"; rc=\$?
cp "$W/notaprogram" "$W/run/.vcomp-node1.new2" &&
    mv -f "$W/run/.vcomp-node1.new2" "$W/run/vcomp-node1"
exit \$rc
EOF
chmod 755 "$W/run/.vcomp-node1.new"
mv -f "$W/run/.vcomp-node1.new" "$W/run/vcomp-node1"
kill -USR2 "${RT_PID[1]}"
if it_wait_count "$W/runtime-node1.log" 'resumed on the running image' 1 10 &&
    rt_links 1; then
	it_pass "badexec: a failed execve() leaves node1 on its image, linked"
else
	it_fail "badexec: a failed execve() leaves node1 on its image, linked" \
	    "$W/runtime-node1.log"
fi
mv -f "$W/good-node1" "$W/run/vcomp-node1"
sleep 1
echo "badexec-end $(now)" >>"$W/phases"

touch "$STOP"
for i in 0 1 2; do
	wait "${FLOOD[$i]}" 2>/dev/null
	it_untrack "${FLOOD[$i]}"
done

# The accounting, per change.
if $IT_PY - "$W" "${USERS[@]}" $DAVE >"$W/accounting.txt" 2>&1 <<'EOF'
import json, sys
w, users = sys.argv[1], sys.argv[2:]
data = {u: json.load(open(f"{w}/flood-{u}.json")) for u in users}
# When each user is in the room: the first users all along, dave from his
# first message to his last.
inf = float("inf")
span = {u: (data[u]["sent"][0][1], data[u]["sent"][-1][1])
        if u == users[-1] else (-inf, inf) for u in users}
phases = [l.split() for l in open(f"{w}/phases")]
marks = {name: float(t) for name, t in phases}
names = [n for n, _ in phases if not n.endswith("-end")]
# received[u][(sender, n)] = copies; times[u] = sorted receive times
received = {u: {} for u in users}
for u in users:
    for who, num, t in data[u]["got"]:
        received[u][(who, num)] = received[u].get((who, num), 0) + 1
bounced = {(u, num) for u in users for num, cond, t in data[u]["errors"]}
fail = False
for name in names:
    start, end = marks[name], marks[name + "-end"]
    sent = delivered = bounce = false_b = dup = lost = 0
    for u in users:
        for num, t in data[u]["sent"]:
            if not (start <= t < end):
                continue
            sent += 1
            copies = [received[v].get((u, num), 0) for v in users
                      if span[v][0] <= t <= span[v][1]]
            dup += sum(max(0, c - 1) for c in copies)
            if (u, num) in bounced:
                bounce += 1
                # Bounced although an occupant got it.
                false_b += any(c > 0 for c in copies)
            elif all(c > 0 for c in copies):
                delivered += 1
            else:
                lost += 1
    gap = 0.0
    for u in users:
        lo, hi = max(start, span[u][0]), min(end - 0.5, span[u][1])
        ts = sorted(t for who, num, t in data[u]["got"] if lo <= t < hi + 0.5)
        if lo < hi:
            edges = [lo] + ts + [hi]
            gap = max([gap] + [b - a for a, b in zip(edges, edges[1:])])
    ok = lost == 0 and bounce == 0 and false_b == 0 and gap < 2.0 and sent > 0
    fail |= not ok
    print(f"CHANGE {name}: sent {sent} delivered {delivered} bounced {bounce} "
          f"false-bounces {false_b} duplicated {dup} lost {lost} gap {gap:.2f} s "
          f"{'ok' if ok else 'FAILED'}")
sys.exit(1 if fail else 0)
EOF
then
	cat "$W/accounting.txt"
	it_pass "every change rolled with lost = 0, bounced = 0, false bounces = 0, gap < 2 s"
else
	cat "$W/accounting.txt"
	it_fail "every change rolled with lost = 0, bounced = 0, false bounces = 0, gap < 2 s" \
	    "$W/runtime-node1.log" "$W/muc.log"
fi
# The real component's session survived every upgrade of its home.
if [ "$(grep -c 'connected as' "$W/muc.log")" = 1 ] &&
    ! grep -qiE 'disconnect|reconnect' "$W/muc.log"; then
	it_pass "muc.py kept its one session to node1 through every upgrade"
else
	it_fail "muc.py kept its one session to node1 through every upgrade" \
	    "$W/muc.log"
fi
# Same pid all along: every runtime was upgraded, never restarted.
for n in 1 2 3; do
	kill -0 "${RT_PID[$n]}" 2>/dev/null ||
	    it_fail "node$n's runtime (pid ${RT_PID[$n]}) is still running" \
		"$W/runtime-node$n.log"
done
grep -hE '; refused$|wrong proof|refused us' "$W"/runtime-node*.log >"$W/refused.log"
if [ -s "$W/refused.log" ]; then
	it_fail "no link was refused during the rolls" "$W/refused.log"
else
	it_pass "no link was refused during the rolls"
fi

# Every runtime, upgraded in place up to ten times, stops cleanly on
# SIGTERM; under SAN=1 no sanitizer report (leaks are reported at exit,
# and every image but the last ended in execve()).
it_kill "$MUC_PID"
bad=
for n in 1 2 3; do kill -TERM "${RT_PID[$n]}" 2>/dev/null; done
for n in 1 2 3; do
	it_wait_exit "${RT_PID[$n]}" 12 && [ "$IT_RC" = 0 ] || bad="$bad node$n"
done
if [ -z "$bad" ]; then
	it_pass "SIGTERM after the upgrades: every runtime exits 0"
else
	it_fail "SIGTERM after the upgrades: every runtime exits 0 (not:$bad)" \
	    "$W"/runtime-node*.log
fi
# A new image given a state it cannot use (garbled, another version,
# another node's, in a memfd that is not sealed) starts fresh and lets
# what was handed over go politely (the stream gets </stream:stream>, the
# listener is closed), and only that: a socket it inherited that the
# variable does not list is left alone; node1's last binary, its ports
# free again.
for mode in garbled version node unsealed; do
	$IT_PY "$IT_DIR/handover_refuse.py" "$W/run/vcomp-node1" "$mode" \
	    "$W/refuse-$mode.log" >"$W/refuse-$mode.out" 2>&1
	if [ "$(tr '\n' ' ' <"$W/refuse-$mode.out")" = "BYE CLOSED UNTOUCHED ALIVE EXIT 0 " ] &&
	    grep -q 'handover state refused' "$W/refuse-$mode.log"; then
		it_pass "a $mode handover state is refused: fresh start, inherited sockets let go"
	else
		it_fail "a $mode handover state is refused: fresh start, inherited sockets let go" \
		    "$W/refuse-$mode.out" "$W/refuse-$mode.log"
	fi
done
if [ "${SAN:-}" = 1 ]; then
	if it_san_reports "$W"/runtime-node*.log "$W"/refuse-*.log; then
		it_fail "sanitizers: reports in the runtimes' logs" \
		    "$W"/runtime-node*.log
	else
		it_pass "sanitizers: no report in the runtimes' logs"
	fi
fi

it_summary
