#!/bin/bash
# check-runtime.sh — integration test of one node's runtime, with real parts:
# a real Prosody (Debian package) as the node's XMPP server, real slixmpp
# clients (tests/integration/client.py) and a real slixmpp XEP-0114
# component (tests/integration/component.py) behind the runtime's home
# listener.  Everything is on 127.0.0.1, every port is chosen at run time,
# every process is stopped by pid from an EXIT trap (integration/lib.sh).
#
#   user (client.py) ──c2s──▶ Prosody ──XEP-0114──▶ vcomp-node1 ◀──XEP-0114── component.py
#
# Run by `make check` with VCOMPC, B, SAN and CC in the environment.  With
# SAN=1 the node binary is linked dynamically with ASan+UBSan (static
# linking and the sanitizers do not mix) and its log is checked for
# sanitizer reports.  IT_KEEP=1 keeps the work directory with every log.
#
# Each check prints "PASS: name" or "FAIL: name" (with the evidence); the
# last line is "N passed, N failed"; the exit status is 1 on any failure.
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "runtime integration test" prosody python3-slixmpp file

it_init runtime
W=$IT_WORK
CLIENT="$IT_PY $IT_DIR/client.py"
COMPONENT="$IT_PY $IT_DIR/component.py"
DOMAIN=muc.example.test
ROOM=room@$DOMAIN
ERRS=remote-server-timeout,service-unavailable

C2S_PORT=$(it_free_port) && SERVER_PORT=$(it_free_port) &&
    LISTEN_PORT=$(it_free_port) && STATS_PORT=$(it_free_port) &&
    PEER_PORT=$(it_free_port) || { echo "FAIL: no free ports"; exit 1; }
it_log "work dir $W; ports c2s=$C2S_PORT server=$SERVER_PORT listen=$LISTEN_PORT" \
    "stats=$STATS_PORT peer=$PEER_PORT"

# Fresh secrets per run: nothing here can pass by accident with a fixed one.
export VCOMP_IT_SECRET="it-comp-$RANDOM$RANDOM$$"
export VCOMP_IT_CLUSTER_SECRET="it-cluster-$RANDOM$RANDOM$$"

sed -e "s/@SERVER_PORT@/$SERVER_PORT/" -e "s/@PEER_PORT@/$PEER_PORT/" \
    -e "s/@LISTEN_PORT@/$LISTEN_PORT/" -e "s/@STATS_PORT@/$STATS_PORT/" \
    "$IT_DIR/spec.yaml.in" >"$W/spec.yaml"

client() {       # client LOGNAME ARGS...: one client run, output in $W/LOGNAME.log
	local log=$W/$1.log
	shift
	$CLIENT --port "$C2S_PORT" "$@" >"$log" 2>>"$W/client-stderr.log"
}

# stats: the metrics the runtime's stats listener serves, into $W/stats.N.
STATS_N=0
stats() {
	STATS_N=$((STATS_N + 1))
	STATS_FILE=$W/stats.$STATS_N
	it_metrics "$STATS_PORT" >"$STATS_FILE" 2>&1
}
counter() {      # counter NAME: vcomp_component_NAME{component="$DOMAIN"} in $STATS_FILE
	it_metric "$STATS_FILE" "vcomp_component_$1" "component=\"$DOMAIN\""
}

COMP_PID=
comp_start() {   # start component.py; wait until its handshake is accepted
	$COMPONENT run --port "$LISTEN_PORT" --secret "$VCOMP_IT_SECRET" \
	    --log "$W/component.log" --lifetime 120 \
	    >>"$W/component.out" 2>&1 &
	COMP_PID=$!
	it_track "$COMP_PID"
	local n
	n=$(grep -c SESSION-START "$W/component.log" 2>/dev/null)
	it_wait_count "$W/component.log" SESSION-START $(( ${n:-0} + 1 )) 5
}
comp_stop() {
	[ -n "$COMP_PID" ] && it_kill "$COMP_PID"
	COMP_PID=
}

# ------------------------------------------------------------------ 1. build
echo "== 1. node binary"
BIN=$W/vcomp-node1
it_san_link
if (cd "$W" && "$VCOMPC" --node node1 -o vcomp-node1 spec.yaml) >"$W/build.log" 2>&1 &&
    [ -x "$BIN" ]; then
	it_pass "1a vcompc --node node1 -o vcomp-node1 builds the node binary"
else
	it_fail "1a vcompc --node node1 -o vcomp-node1 builds the node binary" "$W/build.log"
	echo "integration: NO NODE BINARY: vcompc could not build vcomp-node1" \
	    "(runtime/ or compiler/link.c missing or broken); nothing else can run"
	it_summary
	exit 1
fi

if [ "$SAN" = 1 ]; then
	echo "SKIP: 1b statically linked (SAN=1 links dynamically for the sanitizers)"
else
	file "$BIN" >"$W/file.log" 2>&1
	if grep -q 'statically linked' "$W/file.log"; then
		it_pass "1b file says statically linked"
	else
		it_fail "1b file says statically linked" "$W/file.log"
	fi
fi

if "$BIN" --version >"$W/version.log" 2>&1 && grep -q node1 "$W/version.log" &&
    grep -q '^peer protocol [0-9]*-[0-9]*$' "$W/version.log"; then
	it_pass "1c --version names the node and the peer protocol versions"
else
	it_fail "1c --version names the node and the peer protocol versions" "$W/version.log"
fi

if "$BIN" --help >"$W/help.log" 2>&1 && grep -q -- --check "$W/help.log" &&
    grep -q -- --version "$W/help.log"; then
	it_pass "1d --help"
else
	it_fail "1d --help" "$W/help.log"
fi

if "$BIN" --check >"$W/check-ok.log" 2>&1; then
	it_pass "1e --check succeeds with the secrets set"
else
	it_fail "1e --check succeeds with the secrets set" "$W/check-ok.log"
fi

# The error must say what is missing; any non-zero exit is not enough.
if env -u VCOMP_IT_SECRET "$BIN" --check >"$W/check-nosecret.log" 2>&1; then
	it_fail "1f --check fails without VCOMP_IT_SECRET" "$W/check-nosecret.log"
elif grep -Eqi 'VCOMP_IT_SECRET|secret' "$W/check-nosecret.log"; then
	it_pass "1f --check fails without VCOMP_IT_SECRET"
else
	it_fail "1f --check fails without VCOMP_IT_SECRET (no message naming the secret)" \
	    "$W/check-nosecret.log"
fi

# ------------------------------------------------- 2. local disco, no component
echo "== 2. Prosody + runtime, no real component"
PROSODY=$W/prosody
if P=$(bash "$IT_DIR/prosody-up.sh" "$PROSODY" "$C2S_PORT" "$SERVER_PORT" \
    "$VCOMP_IT_SECRET" 2>"$W/prosody-up.log"); then
	it_track_prosody "$PROSODY"
	it_log "prosody pid $P"
else
	it_fail "2 prosody starts" "$W/prosody-up.log" "$PROSODY/prosody.log"
	it_summary
	exit 1
fi

# Baseline: without the runtime Prosody itself says the component is away,
# so the answer in 2b cannot be Prosody's.
if client 2a-baseline disco-info --to "$DOMAIN" --error remote-server-timeout; then
	it_pass "2a baseline: without the runtime Prosody answers remote-server-timeout"
else
	it_fail "2a baseline: without the runtime Prosody answers remote-server-timeout" \
	    "$W/2a-baseline.log"
fi

"$BIN" -v >"$W/runtime.log" 2>&1 &
RT_PID=$!
it_track "$RT_PID"
AUTH_RE=$IT_AUTH_RE
if it_wait_log "$PROSODY/prosody.log" "$AUTH_RE" 5 && kill -0 "$RT_PID" 2>/dev/null; then
	it_pass "2b runtime connects upstream as $DOMAIN (Prosody accepted its handshake)"
else
	it_fail "2b runtime connects upstream as $DOMAIN (Prosody accepted its handshake)" \
	    "$W/runtime.log" "$PROSODY/prosody.log"
fi

if client 2c-disco disco-info --to "$DOMAIN" \
    --identity "conference/text/vcomp integration MUC" \
    --feature urn:example:vcomp-it --feature http://jabber.org/protocol/muc \
    --feature http://jabber.org/protocol/disco#info; then
	it_pass "2c disco#info answered by the runtime (identity and features from the spec)"
else
	it_fail "2c disco#info answered by the runtime (identity and features from the spec)" \
	    "$W/2c-disco.log" "$W/runtime.log"
fi

if client 2d-disco-node disco-info --to "$DOMAIN" --node it-node \
    --identity "conference/text/vcomp integration MUC" --feature urn:example:vcomp-it; then
	it_pass "2d disco#info to the configured disco-node answered, node echoed"
else
	it_fail "2d disco#info to the configured disco-node answered, node echoed" \
	    "$W/2d-disco-node.log"
fi

if client 2e-disco-badnode disco-info --to "$DOMAIN" --node no-such-node \
    --error item-not-found; then
	it_pass "2e disco#info to an unknown node: item-not-found"
else
	it_fail "2e disco#info to an unknown node: item-not-found" "$W/2e-disco-badnode.log"
fi

# ------------------------------------------------------ 3. the real component
echo "== 3. real component behind the home listener"
if comp_start; then
	it_pass "3a component.py authenticates at the home listener"
else
	it_fail "3a component.py authenticates at the home listener" \
	    "$W/component.log" "$W/component.out" "$W/runtime.log"
fi

if client 3b-msg msg-roundtrip --to "$ROOM" --body "it-hello-$$"; then
	it_pass "3b message round trip user -> component -> user"
else
	it_fail "3b message round trip user -> component -> user" \
	    "$W/3b-msg.log" "$W/component.log" "$W/runtime.log"
fi

if client 3c-iq iq-roundtrip --to "$DOMAIN" --text "it-iq-$$"; then
	it_pass "3c iq round trip user -> component -> user"
else
	it_fail "3c iq round trip user -> component -> user" \
	    "$W/3c-iq.log" "$W/component.log" "$W/runtime.log"
fi

# disco: local (the default) means disco#info stays with the runtime even
# while the component is connected; component.py would answer it with an
# error (it has no disco plugin) and would log it.
if client 3d-disco disco-info --to "$DOMAIN" --feature urn:example:vcomp-it &&
    ! grep -q 'disco#info' "$W/component.log"; then
	it_pass "3d disco#info still answered locally while the component is connected"
else
	it_fail "3d disco#info still answered locally while the component is connected" \
	    "$W/3d-disco.log" "$W/component.log"
fi

# A message the component sends on its own (not a reply) reaches a user.
$CLIENT --port "$C2S_PORT" --user bob --timeout 5 wait-msg \
    --hello-to "$DOMAIN" --body-contains "broadcast: it-bcast-$$" \
    >"$W/3e-wait.log" 2>>"$W/client-stderr.log" &
WAITER=$!
it_track "$WAITER"
it_wait_count "$W/component.log" 'from="bob@example.test/it".*<body>hello</body>' 1 5
client 3e-send send-msg --to "$DOMAIN" --body "!broadcast it-bcast-$$"
if it_wait_exit "$WAITER" 8 && [ "$IT_RC" = 0 ]; then
	it_pass "3e component-initiated message reaches a user"
else
	it_fail "3e component-initiated message reaches a user" \
	    "$W/3e-wait.log" "$W/component.log"
fi

# A stanza from the component with a from outside its domain must come back
# to the component as an error and never reach Prosody, which would close
# the whole upstream with invalid-from.
client 3f-send send-msg --to "$DOMAIN" --body "!badfrom"
if it_wait_log "$W/component.log" 'RECV <message[^>]*type="error"[^>]*mallory@evil\.test|RECV <message[^>]*mallory@evil\.test[^>]*type="error"' 3 &&
    ! grep -q 'invalid-from' "$PROSODY/prosody.log" &&
    client 3f-after msg-roundtrip --to "$ROOM" --body "it-after-badfrom-$$"; then
	it_pass "3f bad from is bounced to the component, upstream stays up"
else
	it_fail "3f bad from is bounced to the component, upstream stays up" \
	    "$W/component.log" "$W/3f-after.log" "$PROSODY/prosody.log"
fi

# -------------------------------------------------------- 4. queue and expiry
echo "== 4. component away: queue, then expiry"
comp_stop
sleep 0.3
body="it-queued-$$"
$CLIENT --port "$C2S_PORT" --timeout 8 msg-roundtrip --to "$ROOM" --body "$body" \
    --min-elapsed 0.8 >"$W/4a-queued.log" 2>>"$W/client-stderr.log" &
QC=$!
it_track "$QC"
sleep 1.2
comp_start
if it_wait_exit "$QC" 10 && [ "$IT_RC" = 0 ] &&
    grep -q "<body>$body</body>" "$W/component.log"; then
	it_pass "4a message sent while the component is down arrives after it reconnects"
else
	it_fail "4a message sent while the component is down arrives after it reconnects" \
	    "$W/4a-queued.log" "$W/component.log" "$W/runtime.log"
fi

comp_stop
sleep 0.3
# queue-age is 3s in the spec: the bounce must come after it, not at once
# (an immediate error would be Prosody's or a runtime that does not queue).
# The window [2.5 s, 6 s] ties the bounce to the spec's 3 s queue-age.
$CLIENT --port "$C2S_PORT" --timeout 10 expect-error --kind message --to "$ROOM" \
    --body "it-expire-msg-$$" --conditions "$ERRS" --min-elapsed 2.5 --max-elapsed 6 \
    >"$W/4b-expire-msg.log" 2>>"$W/client-stderr.log" &
E1=$!
it_track "$E1"
$CLIENT --port "$C2S_PORT" --user bob --timeout 10 expect-error --kind iq --to "$DOMAIN" \
    --body "it-expire-iq-$$" --conditions "$ERRS" --min-elapsed 2.5 --max-elapsed 6 \
    >"$W/4c-expire-iq.log" 2>>"$W/client-stderr.log" &
E2=$!
it_track "$E2"
it_wait_exit "$E1" 14; rc1=$IT_RC
it_wait_exit "$E2" 14; rc2=$IT_RC
for t in "4b message:$rc1:$W/4b-expire-msg.log" "4c iq:$rc2:$W/4c-expire-iq.log"; do
	name=${t%%:*} rest=${t#*:}
	rc=${rest%%:*} log=${rest#*:}
	if [ "$rc" = 0 ] && grep -q "text=[^ ]*$DOMAIN" "$log"; then
		it_pass "$name left past queue-age comes back as an error naming the component"
	else
		it_fail "$name left past queue-age comes back as an error naming the component" \
		    "$log" "$W/runtime.log"
	fi
done

# The expired stanzas must not be delivered late.
if comp_start && client 4d-after msg-roundtrip --to "$ROOM" --body "it-after-expiry-$$" &&
    ! grep -q "it-expire-" "$W/component.log"; then
	it_pass "4d expired stanzas are not delivered when the component returns"
else
	it_fail "4d expired stanzas are not delivered when the component returns" \
	    "$W/component.log" "$W/4d-after.log"
fi

# ---------------------------------------------------- 5. home listener auth
echo "== 5. home listener refuses bad handshakes"
$COMPONENT raw-handshake --port "$LISTEN_PORT" --secret "wrong-$VCOMP_IT_SECRET" \
    --expect not-authorized >"$W/5a-badsecret.log" 2>&1 &
R1=$!
it_track "$R1"
$COMPONENT raw-handshake --port "$LISTEN_PORT" --secret "$VCOMP_IT_SECRET" \
    --domain nosuch.example.test --expect host-unknown >"$W/5b-badhost.log" 2>&1 &
R2=$!
it_track "$R2"
it_wait_exit "$R1" 8; rc1=$IT_RC
it_wait_exit "$R2" 8; rc2=$IT_RC
if [ "$rc1" = 0 ] && grep -q CLOSED "$W/5a-badsecret.log"; then
	it_pass "5a wrong secret: stream error not-authorized, connection closed"
else
	it_fail "5a wrong secret: stream error not-authorized, connection closed" \
	    "$W/5a-badsecret.log" "$W/runtime.log"
fi
if [ "$rc2" = 0 ] && grep -q CLOSED "$W/5b-badhost.log"; then
	it_pass "5b unknown component domain: stream error host-unknown, connection closed"
else
	it_fail "5b unknown component domain: stream error host-unknown, connection closed" \
	    "$W/5b-badhost.log" "$W/runtime.log"
fi
# The real component must be untouched by both.
if client 5c-after msg-roundtrip --to "$ROOM" --body "it-after-auth-$$"; then
	it_pass "5c the authenticated component keeps working"
else
	it_fail "5c the authenticated component keeps working" "$W/5c-after.log" "$W/component.log"
fi

# ------------------------------------------------------ 6. Prosody restarted
echo "== 6. Prosody restarted under the runtime"
nauth=$(grep -c "$AUTH_RE" "$PROSODY/prosody.log")
bash "$IT_DIR/prosody-down.sh" "$PROSODY"
if P=$(bash "$IT_DIR/prosody-up.sh" "$PROSODY" "$C2S_PORT" "$SERVER_PORT" \
    "$VCOMP_IT_SECRET" 2>"$W/prosody-up2.log"); then
	it_log "prosody restarted, pid $P"
else
	it_fail "6 prosody restarts" "$W/prosody-up2.log"
fi
if it_wait_count "$PROSODY/prosody.log" "$AUTH_RE" $((nauth + 1)) 8; then
	it_pass "6a runtime reconnects upstream after the restart"
else
	it_fail "6a runtime reconnects upstream after the restart" \
	    "$W/runtime.log" "$PROSODY/prosody.log"
fi
if client 6b-msg msg-roundtrip --to "$ROOM" --body "it-after-restart-$$" &&
    client 6b-iq iq-roundtrip --to "$DOMAIN" --text "it-iq-after-restart-$$"; then
	it_pass "6b message and iq round trips work again"
else
	it_fail "6b message and iq round trips work again" \
	    "$W/6b-msg.log" "$W/6b-iq.log" "$W/runtime.log"
fi

stats
n_reconn=$(counter upstream_reconnects_total)
n_local=$(counter local_total)
n_bounced=$(counter bounced_total)
if [ "${n_reconn:-0}" -ge 1 ] && [ "${n_local:-0}" -ge 3 ] && [ "${n_bounced:-0}" -ge 2 ]; then
	it_pass "6c stats: reconnects=$n_reconn local=$n_local bounced=$n_bounced"
else
	it_fail "6c stats: want reconnects>=1 local>=3 bounced>=2, got '${n_reconn:-}' '${n_local:-}' '${n_bounced:-}'" \
	    "$STATS_FILE"
fi

# ----------------------------------------------------------------- 7. SIGTERM
echo "== 7. SIGTERM"
kill -TERM "$RT_PID"
if it_wait_exit "$RT_PID" 6 && [ "$IT_RC" = 0 ]; then
	it_pass "7a SIGTERM: the runtime exits 0 within 6 s"
else
	it_fail "7a SIGTERM: the runtime exits 0 within 6 s (status '${IT_RC:-still running}')" \
	    "$W/runtime.log"
fi
# The real component saw its stream closed, not just the socket.
if it_wait_log "$W/component.log" 'DISCONNECTED reason=End of stream' 3; then
	it_pass "7b the real component's stream is closed at shutdown"
else
	it_fail "7b the real component's stream is closed at shutdown" "$W/component.log"
fi

if [ "$SAN" = 1 ]; then
	if it_san_reports "$W/runtime.log"; then
		it_fail "sanitizers: reports in the runtime's log" "$W/runtime.log"
	else
		it_pass "sanitizers: no report in the runtime's log"
	fi
fi

it_summary
