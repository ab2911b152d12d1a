#!/bin/bash
# check-cluster.sh — integration test of a three-node cluster (issue 4)
# with real parts: three real Prosody servers for the same domain
# example.test (node1..node3, each with its own ports, data and config),
# the three node binaries vcompc --all builds from
# tests/integration/cluster.yaml.in, the real slixmpp XEP-0114 component
# (tests/integration/component.py) and real slixmpp clients logged in on
# node1 and node2.  muc.example.test is homed on node1, then node3
# (failover order); node2 only runs it as a virtual component.
#
#   alice, carol ─c2s─▶ Prosody1 ─XEP-0114─▶ vcomp-node1 ◀─XEP-0114─ component.py
#                                               ▲   ▲ peer links
#   bob, dave ────c2s─▶ Prosody2 ─XEP-0114─▶ vcomp-node2
#                                                   ▼
#                       Prosody3 ─XEP-0114─▶ vcomp-node3 ◀─ (component.py after failover)
#
# Everything is on 127.0.0.1, every port is chosen at run time, every
# process is stopped by pid from the EXIT trap (integration/lib.sh).  Run by
# `make check` with VCOMPC, B, SAN and CC in the environment; with SAN=1
# the node binaries are linked dynamically with ASan+UBSan and their logs
# are checked for sanitizer reports.  IT_KEEP=1 keeps the work directory;
# it is always kept when a check fails, and its path is printed.
#
# Each check prints "PASS: name" or "FAIL: name" (with the evidence); the
# last line is "N passed, N failed"; the exit status is 1 on any failure.
# The checks, in the order they run:
#   1  discovery on node2 (disco#items from Prosody2, disco#info from
#      vcomp-node2, also while vcomp-node1 is stopped)
#   2  message and iq round trips from node2 and node1
#   3  a component broadcast reaches users on both nodes
#   4  10 000 numbered messages from node2 while vcomp-node1 is killed
#      (SIGKILL) and restarted: each is delivered or bounced, none missing
#   6  raw plaintext peers (tests/integration/peer.py) get nothing through
#      the encrypted links, with the right or a wrong cluster secret, a
#      known or an unknown node name (run before 5, while the real node3
#      can be stopped and the component is still on node1)
#   5  failover: the component moves to node3, traffic from node2 follows
#   7  every runtime still up, SIGTERM exits cleanly, no sanitizer report
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "cluster integration test" prosody python3-slixmpp

it_init cluster
W=$IT_WORK
CLIENT="$IT_PY $IT_DIR/client.py"
COMPONENT="$IT_PY $IT_DIR/component.py"
FLOOD="$IT_PY $IT_DIR/flood.py"
PEER="$IT_PY $IT_DIR/peer.py"
DOMAIN=muc.example.test
ROOM=room@$DOMAIN
AUTH_RE=$IT_AUTH_RE
FLOOD_N=${IT_FLOOD_N:-10000}
FLOOD_RATE=${IT_FLOOD_RATE:-2000}

echo "cluster: work dir and logs in $W (kept on failure)"

it_node_ports 1 2 3 || { echo "FAIL: no free ports"; exit 1; }
for n in 1 2 3; do
	it_log "node$n ports c2s=${C2S[$n]} server=${SERVER[$n]}" \
	    "listen=${LISTEN[$n]} peer=${PEERP[$n]} stats=${STATS[$n]}"
done

# Fresh secrets per run: nothing here can pass by accident with a fixed one.
export VCOMP_IT_SECRET="it-comp-$RANDOM$RANDOM$$"
export VCOMP_IT_CLUSTER_SECRET="it-cluster-$RANDOM$RANDOM$$"

sed -e "s/@SERVER1@/${SERVER[1]}/" -e "s/@PEER1@/${PEERP[1]}/" \
    -e "s/@LISTEN1@/${LISTEN[1]}/" -e "s/@STATS1@/${STATS[1]}/" \
    -e "s/@SERVER2@/${SERVER[2]}/" -e "s/@PEER2@/${PEERP[2]}/" \
    -e "s/@LISTEN2@/${LISTEN[2]}/" -e "s/@STATS2@/${STATS[2]}/" \
    -e "s/@SERVER3@/${SERVER[3]}/" -e "s/@PEER3@/${PEERP[3]}/" \
    -e "s/@LISTEN3@/${LISTEN[3]}/" -e "s/@STATS3@/${STATS[3]}/" \
    "$IT_DIR/cluster.yaml.in" >"$W/spec.yaml"
if grep -Eq "@[A-Z0-9]+@" "$W/spec.yaml"; then
	echo "FAIL: unfilled placeholder in spec.yaml"
	exit 1
fi

# client NODE LOGNAME ARGS...: one client.py run against node NODE's
# Prosody, output in $W/LOGNAME.log.
client() {
	local node=$1 log=$W/$2.log
	shift 2
	$CLIENT --port "${C2S[$node]}" "$@" >"$log" 2>>"$W/client-stderr.log"
}

# lines FILE: number of lines now; since FILE MARK: the lines after MARK.
lines() { local c; c=$(wc -l <"$1" 2>/dev/null); echo "${c:-0}"; }
since() { tail -n +"$(( $2 + 1 ))" "$1" 2>/dev/null; }

# ------------------------------------------------------------ the runtimes
rt_kill9() {
	local n=$1
	kill -KILL "${RT_PID[$n]}" 2>/dev/null
	wait "${RT_PID[$n]}" 2>/dev/null
	it_untrack "${RT_PID[$n]}"
	RT_PID[$n]=
}
rt_stop() {
	local n=$1
	[ -n "${RT_PID[$n]:-}" ] && it_kill "${RT_PID[$n]}"
	RT_PID[$n]=
}

# --------------------------------------------------------- the component
COMP_PID=
COMP_LOG=
# comp_start NODE LOG [ARGS...]: component.py at node NODE's home listener;
# wait until its handshake is accepted.
comp_start() {
	local node=$1 n
	COMP_LOG=$2
	shift 2
	n=$(grep -c SESSION-START "$COMP_LOG" 2>/dev/null)
	it_wait_port "${LISTEN[$node]}" 5 || return 1
	$COMPONENT run --port "${LISTEN[$node]}" --secret "$VCOMP_IT_SECRET" \
	    --log "$COMP_LOG" --lifetime 170 "$@" >>"$W/component.out" 2>&1 &
	COMP_PID=$!
	it_track "$COMP_PID"
	it_wait_count "$COMP_LOG" SESSION-START $(( ${n:-0} + 1 )) 5
}
comp_stop() {
	[ -n "$COMP_PID" ] && it_kill "$COMP_PID"
	COMP_PID=
}

# ------------------------------------------------------------------ 0. build
echo "== 0. three Prosody servers, three node binaries"
it_san_link
mkdir -p "$W/bin"
if (cd "$W" && "$VCOMPC" --all -d bin spec.yaml) >"$W/build.log" 2>&1 &&
    [ -x "$W/bin/vcomp-node1" ] && [ -x "$W/bin/vcomp-node2" ] &&
    [ -x "$W/bin/vcomp-node3" ]; then
	it_pass "0a vcompc --all -d builds vcomp-node1, vcomp-node2, vcomp-node3"
else
	it_fail "0a vcompc --all -d builds vcomp-node1, vcomp-node2, vcomp-node3" "$W/build.log"
	echo "cluster: NO NODE BINARIES; nothing else can run"
	it_summary
	exit 1
fi
# The component's wire id and compat digest (the raw peers of check 6
# announce them in COMPONENTS), from the compiler's JSON.
read -r COMP_ID COMPAT < <("$VCOMPC" --emit=json --node node1 "$W/spec.yaml" |
    $IT_PY -c 'import json,sys; c=json.load(sys.stdin)["components"][0]; print(c["id"], c["compat"])')
if [ -n "${COMPAT:-}" ] && "$W/bin/vcomp-node1" --version 2>&1 | grep -q 'peer protocol 2'; then
	it_pass "0b --version gives the peer protocol versions; the JSON gives the component's id"
else
	it_fail "0b --version gives the peer protocol versions; the JSON gives the component's id"
fi

for n in 1 2 3; do
	d=$W/prosody$n
	# Extra accounts beside prosody-up.sh's alice and bob (same data format).
	mkdir -p "$d/data/example%2etest/accounts"
	for u in carol dave; do
		printf 'return { ["password"] = "%spw"; };\n' "$u" \
		    >"$d/data/example%2etest/accounts/$u.dat"
	done
	it_prosody_node "$n" "0c prosody node$n starts"
done

ok=1
for n in 1 2 3; do
	it_rt_start "$n" || ok=0
done
if [ $ok = 1 ]; then
	it_pass "0c vcomp-node1..3 run and each connects upstream to its Prosody"
else
	it_fail "0c vcomp-node1..3 run and each connects upstream to its Prosody" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/runtime-node3.log"
fi

if comp_start 1 "$W/component1.log"; then
	it_pass "0d component.py authenticates at node1's home listener"
else
	it_fail "0d component.py authenticates at node1's home listener" \
	    "$W/component1.log" "$W/component.out" "$W/runtime-node1.log"
fi

# -------------------------------------------------------- 1. discovery
echo "== 1. discovery on node2"
if client 2 1a-items --user bob disco-items --to example.test --item "$DOMAIN"; then
	it_pass "1a disco#items from node2's server lists $DOMAIN"
else
	it_fail "1a disco#items from node2's server lists $DOMAIN" "$W/1a-items.log"
fi

DISCO_ARGS=(--to "$DOMAIN" --identity "conference/text/vcomp cluster MUC"
    --feature urn:example:vcomp-cluster-it --feature http://jabber.org/protocol/muc
    --feature http://jabber.org/protocol/disco#info)
# component.py has no disco: a forwarded disco#info would be logged there.
c1=$(grep -c 'disco#info' "$W/component1.log")
if client 2 1b-info --user bob disco-info "${DISCO_ARGS[@]}" &&
    [ "$(grep -c 'disco#info' "$W/component1.log")" = "$c1" ]; then
	it_pass "1b disco#info on node2 answered from the compiled table (not forwarded)"
else
	it_fail "1b disco#info on node2 answered from the compiled table (not forwarded)" \
	    "$W/1b-info.log" "$W/runtime-node2.log"
fi

# With vcomp-node1 frozen, only vcomp-node2 can answer (Prosody2 without a
# connected component would say remote-server-timeout; check-runtime.sh 2a).
kill -STOP "${RT_PID[1]}"
client 2 1c-info-stopped --user bob --timeout 4 disco-info "${DISCO_ARGS[@]}"
rc=$?
kill -CONT "${RT_PID[1]}"
if [ $rc = 0 ]; then
	it_pass "1c disco#info on node2 answered by vcomp-node2 while vcomp-node1 is stopped"
else
	it_fail "1c disco#info on node2 answered by vcomp-node2 while vcomp-node1 is stopped" \
	    "$W/1c-info-stopped.log" "$W/runtime-node2.log"
fi
if client 2 1d-items-stopped --user bob disco-items --to example.test --item "$DOMAIN"; then
	it_pass "1d disco#items on node2 still lists $DOMAIN afterwards"
else
	it_fail "1d disco#items on node2 still lists $DOMAIN afterwards" "$W/1d-items-stopped.log"
fi

# ------------------------------------------------------- 2. round trips
echo "== 2. round trips to the component on node1"
# A reply to bob can only reach him through vcomp-node2 and Prosody2: his
# session does not exist on Prosody1, which would bounce it.
body="it-n2-msg-$$"
if client 2 2a-n2-msg --user bob --resource c2 --timeout 8 msg-roundtrip \
    --to "$ROOM" --body "$body" &&
    grep -Eq "RECV <message[^>]*from=\"bob@example.test/c2\"[^>]*>.*<body>$body</body>" \
    "$W/component1.log"; then
	it_pass "2a message round trip node2 user -> component on node1 -> user (from kept)"
else
	it_fail "2a message round trip node2 user -> component on node1 -> user (from kept)" \
	    "$W/2a-n2-msg.log" "$W/component1.log" "$W/runtime-node2.log" "$W/runtime-node1.log"
fi
if client 2 2b-n2-iq --user bob --resource c2 --timeout 8 iq-roundtrip \
    --to "$DOMAIN" --text "it-n2-iq-$$"; then
	it_pass "2b iq round trip node2 user -> component on node1 -> user"
else
	it_fail "2b iq round trip node2 user -> component on node1 -> user" \
	    "$W/2b-n2-iq.log" "$W/component1.log" "$W/runtime-node2.log"
fi
if client 1 2c-n1-msg --user alice --resource c1 --timeout 8 msg-roundtrip \
    --to "$ROOM" --body "it-n1-msg-$$"; then
	it_pass "2c message round trip node1 user -> component -> user"
else
	it_fail "2c message round trip node1 user -> component -> user" \
	    "$W/2c-n1-msg.log" "$W/component1.log" "$W/runtime-node1.log"
fi
if client 1 2d-n1-iq --user alice --resource c1 --timeout 8 iq-roundtrip \
    --to "$DOMAIN" --text "it-n1-iq-$$"; then
	it_pass "2d iq round trip node1 user -> component -> user"
else
	it_fail "2d iq round trip node1 user -> component -> user" \
	    "$W/2d-n1-iq.log" "$W/component1.log" "$W/runtime-node1.log"
fi

# ------------------------------------------------------- 3. broadcast
echo "== 3. component broadcast to users on both nodes"
# carol (node1) and dave (node2) say hello, so the component knows their
# full JIDs and vcomp-node1 learns dave's return route; then one
# "!broadcast" makes the component send to everyone it knows.
tag="it-bcast-$$"
$CLIENT --port "${C2S[1]}" --user carol --resource bc --timeout 10 wait-msg \
    --hello-to "$DOMAIN" --body-contains "broadcast: $tag" \
    >"$W/3-carol.log" 2>>"$W/client-stderr.log" &
WC=$!
it_track "$WC"
$CLIENT --port "${C2S[2]}" --user dave --resource bc --timeout 10 wait-msg \
    --hello-to "$DOMAIN" --body-contains "broadcast: $tag" \
    >"$W/3-dave.log" 2>>"$W/client-stderr.log" &
WD=$!
it_track "$WD"
it_wait_log "$W/component1.log" 'from="carol@example.test/bc".*<body>hello</body>' 8
it_wait_log "$W/component1.log" 'from="dave@example.test/bc".*<body>hello</body>' 8
client 1 3-send --user alice --resource bc send-msg --to "$DOMAIN" --body "!broadcast $tag"
it_wait_exit "$WC" 12; rc_c=$IT_RC
it_wait_exit "$WD" 12; rc_d=$IT_RC
if [ "$rc_c" = 0 ]; then
	it_pass "3a broadcast reaches carol on node1"
else
	it_fail "3a broadcast reaches carol on node1" "$W/3-carol.log" "$W/component1.log"
fi
if [ "$rc_d" = 0 ]; then
	it_pass "3b broadcast reaches dave on node2 (return route through vcomp-node2)"
else
	it_fail "3b broadcast reaches dave on node2 (return route through vcomp-node2)" \
	    "$W/3-dave.log" "$W/component1.log" "$W/runtime-node2.log" "$W/runtime-node1.log"
fi

# ---------------------------------------------------- 4. flood across a kill
echo "== 4. $FLOOD_N messages from node2 while vcomp-node1 is killed and restarted"
# The component counts only (no echo), logging to one file per life so the
# test can tell that traffic crossed the restart.
comp_stop
FL1=$W/component-flood1.log
FL2=$W/component-flood2.log
FTAG="fl$$"
FLOG=$W/4-flood.log
t_flood=$SECONDS
if ! comp_start 1 "$FL1" --no-echo; then
	it_fail "4 count-only component starts on node1" "$FL1" "$W/component.out"
fi
$FLOOD send --port "${C2S[2]}" --user bob --resource flood --to "$ROOM" \
    --count "$FLOOD_N" --rate "$FLOOD_RATE" --tag "$FTAG" --timeout 60 \
    >"$FLOG" 2>>"$W/client-stderr.log" &
FP=$!
it_track "$FP"
# Kill vcomp-node1 once a good part has arrived, while the sender is still
# sending.
KILL_AT=$(( FLOOD_N * 3 / 10 ))
if it_wait_count "$FL1" "id=\"$FTAG-" "$KILL_AT" 20; then
	before_kill=$(grep -c "id=\"$FTAG-" "$FL1")
	grep -q SEND-DONE "$FLOG" && midstream=0 || midstream=1
	rt_kill9 1
	it_log "vcomp-node1 killed after $before_kill flood messages at the component"
	it_wait_exit "$COMP_PID" 5   # component.py ends with its stream
	COMP_PID=
	sleep 0.5
	if it_rt_start 1 && comp_start 1 "$FL2" --no-echo; then
		restarted=1
	else
		restarted=0
	fi
else
	before_kill=$(grep -c "id=\"$FTAG-" "$FL1")
	midstream=0
	restarted=0
	it_log "the flood never reached $KILL_AT messages at the component ($before_kill)"
fi
# Wait until every number is accounted for (delivered or bounced), or for
# queue-age (5 s) and more after the last send.
it_wait_log "$FLOG" 'SEND-DONE' 30
deadline=$((SECONDS + 15))
until $FLOOD tally --component-log "$FL1" --component-log "$FL2" \
    --client-log "$FLOG" --tag "$FTAG" --count "$FLOOD_N" >"$W/4-tally.log" 2>&1; do
	[ $SECONDS -ge $deadline ] && break
	sleep 0.5
done
it_kill "$FP"
$FLOOD tally --component-log "$FL1" --component-log "$FL2" --client-log "$FLOG" \
    --tag "$FTAG" --count "$FLOOD_N" >"$W/4-tally.log" 2>&1
rc=$?
after_restart=$(grep -c "id=\"$FTAG-" "$FL2" 2>/dev/null)
# How many frames vcomp-node2 sent again after the link to node1 broke
# (information only: it shows the kill caught stanzas in flight).
it_metrics "${STATS[2]}" >"$W/4-stats-node2.txt" 2>&1
resent=$(it_metric "$W/4-stats-node2.txt" vcomp_peer_resent_total 'peer="node1"')
echo "  flood: $(head -n 1 "$W/4-tally.log"); at the component before the kill" \
    "$before_kill, after the restart ${after_restart:-0}; resent by vcomp-node2" \
    "${resent:-?}; $(grep -E '^SEND-DONE' "$FLOG"); $((SECONDS - t_flood)) s"
if [ "$midstream" = 1 ] && [ "$restarted" = 1 ]; then
	it_pass "4a vcomp-node1 killed (SIGKILL) mid-stream and restarted, component back"
else
	it_fail "4a vcomp-node1 killed (SIGKILL) mid-stream and restarted, component back" \
	    "$FLOG" "$FL1" "$W/runtime-node1.log" "$W/runtime-node2.log"
fi
if [ $rc = 0 ] && grep -q '^SEND-DONE' "$FLOG"; then
	it_pass "4b every one of $FLOOD_N messages delivered or bounced, none missing"
else
	it_fail "4b every one of $FLOOD_N messages delivered or bounced, none missing" \
	    "$W/4-tally.log" "$FLOG" "$W/runtime-node2.log"
fi
# Bouncing everything would also leave nothing missing: the stream must
# really have crossed the restart.
if [ "${after_restart:-0}" -ge $(( FLOOD_N / 10 )) ]; then
	it_pass "4c traffic resumed through the restarted vcomp-node1 ($after_restart messages)"
else
	it_fail "4c traffic resumed through the restarted vcomp-node1 (${after_restart:-0} messages, want >= $(( FLOOD_N / 10 )))" \
	    "$FL2" "$W/runtime-node1.log" "$W/runtime-node2.log"
fi
comp_stop

# No home has the component now: what node2 accepts waits queue-age (5 s)
# and comes back to the sender as an error; none of it is delivered late.
QTAG="q$$"
QLOG=$W/4-queued.log
QN=200
sleep 0.5
t_q=$SECONDS
$FLOOD send --port "${C2S[2]}" --user bob --resource queued --to "$ROOM" \
    --count "$QN" --rate 1000 --tag "$QTAG" --timeout 30 \
    >"$QLOG" 2>>"$W/client-stderr.log" &
QP=$!
it_track "$QP"
deadline=$((SECONDS + 15))
until [ "$(grep -c "^BOUNCE id=$QTAG-.*condition=\(remote-server-timeout\|service-unavailable\)" "$QLOG")" -ge "$QN" ]; do
	[ $SECONDS -ge $deadline ] && break
	sleep 0.2
done
q_secs=$((SECONDS - t_q))
it_kill "$QP"
if comp_start 1 "$W/component1.log"; then
	:
else
	it_fail "4d echoing component back on node1" "$W/component1.log" "$W/component.out"
fi
sleep 0.5
nq=$(grep -c "^BOUNCE id=$QTAG-.*condition=\(remote-server-timeout\|service-unavailable\)" "$QLOG")
if [ "$nq" = "$QN" ] && [ "$q_secs" -ge 4 ] && ! grep -q "id=\"$QTAG-" "$W/component1.log"; then
	it_pass "4d no home up: all $QN messages from node2 bounced after queue-age (${q_secs} s), none delivered late"
else
	it_fail "4d no home up: want $QN bounces after >= 4 s and none delivered late (got $nq in ${q_secs} s)" \
	    "$QLOG" "$W/runtime-node2.log" "$W/component1.log"
fi

# ------------------------------------------------------- 6. raw peers
echo "== 6. raw plaintext peers against the encrypted links"
# The real vcomp-node3 steps aside; peer.py listens on node3's peer port,
# where vcomp-node1 and vcomp-node2 dial it.  peer.py speaks the frames of
# docs/peer-protocol.md without TLS (Python 3.11's ssl module has no PSK
# suites), so with the links encrypted by default even the right secret
# must get nothing through: the TLS handshake fails on its first bytes.
# The frames' own checks (HELLO, PROOF) run inside the channel; a wrong
# secret against a real TLS peer is tests/check-peer-tls.sh's check 4.
rt_stop 3
raw() {          # raw NAME [ARGS...]: peer.py in node3's place, output in $W/NAME.log
	local name=$1
	shift
	$PEER accept --port "${PEERP[3]}" --comp-id "$COMP_ID" --compat "$COMPAT" --domain "$DOMAIN" \
	    --send-to node1 --timeout 6 "$@" >"$W/$name.log" 2>&1
}
stanza() { echo "<message from='eve@example.test/raw' to='$DOMAIN' id='$1' type='chat'><body>$1</body></message>"; }

# Both vcomp-node1 and vcomp-node2 dial node3's port, each on its own
# backoff: the one whose attempt peer.py accepts first is the one that logs
# the refused handshake.  marks and refused_since look at both logs.
marks() { mark=$(lines "$W/runtime-node1.log"); mark2=$(lines "$W/runtime-node2.log"); }
refused_since() {
	{ since "$W/runtime-node1.log" "$mark"; since "$W/runtime-node2.log" "$mark2"; } |
	    grep -E '127\.0\.0\.1' | grep -q 'TLS handshake failed'
}

marks
ok_body="raw-ok-$$"
raw 6a-raw-plain --name node3 --secret "$VCOMP_IT_CLUSTER_SECRET" --eager \
    --from eve@example.test/raw --stanza "$(stanza "$ok_body")" --expect refused
rc=$?
sleep 0.5
if [ $rc = 0 ] && ! grep -q "$ok_body" "$W/component1.log" && refused_since; then
	it_pass "6a a plaintext raw peer with the right secret: TLS handshake refused, the stanza never reaches the component"
else
	it_fail "6a a plaintext raw peer with the right secret gets nothing through" \
	    "$W/6a-raw-plain.log" "$W/component1.log" "$W/runtime-node1.log" "$W/runtime-node2.log"
fi

marks
bad_body="raw-badkey-$$"
raw 6b-raw-badkey --name node3 --secret "wrong-$VCOMP_IT_CLUSTER_SECRET" --eager \
    --from eve@example.test/raw --stanza "$(stanza "$bad_body")" --expect refused
rc=$?
sleep 0.5
if [ $rc = 0 ] && ! grep -q "$bad_body" "$W/component1.log"; then
	it_pass "6b wrong cluster secret: link closed, no ACK, the stanza never reaches the component"
else
	it_fail "6b wrong cluster secret: link closed, no ACK, the stanza never reaches the component" \
	    "$W/6b-raw-badkey.log" "$W/component1.log"
fi
if { since "$W/runtime-node1.log" "$mark"; since "$W/runtime-node2.log" "$mark2"; } |
    grep -E '127\.0\.0\.1' | grep -Eqi 'proof|auth|secret|hmac|refus|reject|TLS'; then
	it_pass "6c the dialling runtime logs the refused link with the peer's address"
else
	it_fail "6c the dialling runtime logs the refused link with the peer's address" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log"
fi

marks
name_body="raw-badname-$$"
raw 6d-raw-badname --name node9 --secret "$VCOMP_IT_CLUSTER_SECRET" --eager \
    --from eve@example.test/raw --stanza "$(stanza "$name_body")" --expect refused
rc=$?
sleep 0.5
if [ $rc = 0 ] && ! grep -q "$name_body" "$W/component1.log" && refused_since; then
	it_pass "6d unknown node name (node9, right secret): refused, logged, nothing through"
else
	it_fail "6d unknown node name (node9, right secret): refused, logged, nothing through" \
	    "$W/6d-raw-badname.log" "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/component1.log"
fi

# And as a dialler: nobody dials node1 (it has the lowest index), so a
# plaintext peer claiming an unknown name there must be refused too.
mark=$(lines "$W/runtime-node1.log")
dial_body="raw-dial-$$"
$PEER dial --port "${PEERP[1]}" --name node9 --comp-id "$COMP_ID" --compat "$COMPAT" --domain "$DOMAIN" \
    --secret "$VCOMP_IT_CLUSTER_SECRET" --send-to node1 --eager --timeout 5 \
    --from eve@example.test/raw --stanza "$(stanza "$dial_body")" --expect refused \
    >"$W/6e-dial-badname.log" 2>&1
rc=$?
sleep 0.5
if [ $rc = 0 ] && ! grep -q "$dial_body" "$W/component1.log" &&
    since "$W/runtime-node1.log" "$mark" | grep -q 'TLS handshake failed'; then
	it_pass "6e a plaintext dialler claiming node9 is refused by vcomp-node1, nothing through"
else
	it_fail "6e a plaintext dialler claiming node9 is refused by vcomp-node1, nothing through" \
	    "$W/6e-dial-badname.log" "$W/runtime-node1.log"
fi

if client 2 6f-after --user bob --resource c6 --timeout 8 msg-roundtrip \
    --to "$ROOM" --body "it-after-raw-$$"; then
	it_pass "6f the real cluster keeps working (node2 round trip)"
else
	it_fail "6f the real cluster keeps working (node2 round trip)" \
	    "$W/6f-after.log" "$W/runtime-node2.log"
fi
if it_rt_start 3; then
	:
else
	it_fail "6g vcomp-node3 restarts" "$W/runtime-node3.log"
fi

# ---------------------------------------------------------- 5. failover
echo "== 5. failover: the component moves from node1 to node3"
mark2=$(lines "$W/runtime-node2.log")
comp_stop
if comp_start 3 "$W/component3.log" --prefix "echo3: "; then
	it_pass "5a component.py authenticates at node3's home listener"
else
	it_fail "5a component.py authenticates at node3's home listener" \
	    "$W/component3.log" "$W/component.out" "$W/runtime-node3.log"
fi
body="it-failover-$$"
if client 2 5b-msg --user bob --resource c5 --timeout 10 msg-roundtrip \
    --to "$ROOM" --body "$body" --prefix "echo3: " &&
    grep -q "<body>$body</body>" "$W/component3.log"; then
	it_pass "5b message round trip node2 user -> component on node3 -> user"
else
	it_fail "5b message round trip node2 user -> component on node3 -> user" \
	    "$W/5b-msg.log" "$W/component3.log" "$W/runtime-node2.log" "$W/runtime-node3.log"
fi
if client 2 5c-iq --user bob --resource c5 --timeout 8 iq-roundtrip \
    --to "$DOMAIN" --text "it-failover-iq-$$"; then
	it_pass "5c iq round trip node2 user -> component on node3 -> user"
else
	it_fail "5c iq round trip node2 user -> component on node3 -> user" \
	    "$W/5c-iq.log" "$W/component3.log" "$W/runtime-node2.log"
fi
# A line that names node3 as where stanzas now go ("... reached on node
# node3", "switching to node3"), not one that names it as the old home.
SWITCH_RE='(switch|fail.?over|reached|now (on|using|sending)|->).*\<node3\>'
if since "$W/runtime-node2.log" "$mark2" | grep -Eqi "$SWITCH_RE"; then
	it_pass "5d vcomp-node2's log shows the switch to node3:" \
	    "$(since "$W/runtime-node2.log" "$mark2" | grep -Ei "$SWITCH_RE" | head -n 1)"
else
	it_fail "5d vcomp-node2's log shows the switch to node3" "$W/runtime-node2.log"
fi

# ------------------------------------------------------------ 7. shutdown
echo "== 7. runtimes alive, clean SIGTERM, sanitizers"
alive=
for n in 1 2 3; do
	if [ -n "${RT_PID[$n]:-}" ] && kill -0 "${RT_PID[$n]}" 2>/dev/null; then
		alive="$alive node$n"
	fi
done
if [ "$alive" = " node1 node2 node3" ]; then
	it_pass "7a all three runtimes still running"
else
	it_fail "7a all three runtimes still running (alive:$alive)" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/runtime-node3.log"
fi
comp_stop
bad=
for n in 1 2 3; do
	[ -n "${RT_PID[$n]:-}" ] || continue
	kill -TERM "${RT_PID[$n]}" 2>/dev/null
done
for n in 1 2 3; do
	[ -n "${RT_PID[$n]:-}" ] || continue
	if ! it_wait_exit "${RT_PID[$n]}" 8 || [ "$IT_RC" != 0 ]; then
		bad="$bad node$n(${IT_RC:-running})"
	fi
	RT_PID[$n]=
done
if [ -z "$bad" ]; then
	it_pass "7b SIGTERM: every runtime exits 0"
else
	it_fail "7b SIGTERM: every runtime exits 0 (not:$bad)" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/runtime-node3.log"
fi
if [ "$SAN" = 1 ]; then
	if it_san_reports "$W"/runtime-node*.log; then
		it_fail "sanitizers: reports in the runtimes' logs" "$W"/runtime-node*.log
	else
		it_pass "sanitizers: no report in the runtimes' logs"
	fi
fi

[ "$IT_FAIL" -gt 0 ] && echo "cluster: logs kept in $W"
it_summary
