#!/bin/bash
# check-ops.sh — what an operator relies on, with real parts: a two-node
# cluster (a real Prosody beside each node, a real slixmpp component homed
# on node1), scraped by a real Prometheus, supervised through a real
# sd_notify socket.
#
#   vcomp-node1 --check / vcomp-node2 --check   secrets, addresses, ports
#   NOTIFY_SOCKET   tests/integration/notify_reader.py binds a real unix
#                   datagram socket, as systemd does: READY=1, STATUS=
#                   lines that follow the links and homes, WATCHDOG=1 at
#                   half of WATCHDOG_USEC, STOPPING=1
#   logs            node1's stderr is a file named by JOURNAL_STREAM (the
#                   journal's device:inode convention): "<N>" priorities;
#                   node2's is not: RFC 3339 timestamps; a lost link says why
#   HTTP            /metrics and /health (200/503), 400/404/405/408/431/505
#                   from tests/integration/http_probe.py, forwarding while a
#                   slow client holds a connection
#   Prometheus      Debian's prometheus scrapes both stats listeners every
#                   second; its HTTP API must show the series; promtool
#                   check metrics accepts the exposition
#
# Everything is on 127.0.0.1, ports chosen at run time, processes stopped by
# pid (integration/lib.sh).  Takes about 30 s.
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "operations test" prosody python3-slixmpp curl prometheus promtool

it_init ops
W=$IT_WORK
CLIENT="$IT_PY $IT_DIR/client.py"
COMPONENT="$IT_PY $IT_DIR/component.py"
PROBE="$IT_PY $IT_DIR/http_probe.py"
DOMAIN=muc.example.test
AUTH_RE=$IT_AUTH_RE

declare -A RT
it_node_ports 1 2 || { echo "FAIL: no free ports"; exit 1; }
PROM_PORT=$(it_free_port) || { echo "FAIL: no free ports"; exit 1; }
export VCOMP_IT_SECRET="it-comp-$RANDOM$RANDOM$$"
export VCOMP_IT_CLUSTER_SECRET="it-cluster-$RANDOM$RANDOM$$"

# spec PEER2HOST: the two-node spec; node2's peer address is PEER2HOST.
spec() {
	cat <<SPEC
version: 1
cluster:
  secret: {env: VCOMP_IT_CLUSTER_SECRET}
nodes:
  node1:
    server: 127.0.0.1:${SERVER[1]}
    peer: 127.0.0.1:${PEERP[1]}
    listen: 127.0.0.1:${LISTEN[1]}
    stats: 127.0.0.1:${STATS[1]}
  node2:
    server: 127.0.0.1:${SERVER[2]}
    peer: $1:${PEERP[2]}
    listen: 127.0.0.1:${LISTEN[2]}
    stats: 127.0.0.1:${STATS[2]}
components:
  $DOMAIN:
    home: node1
    secret: {env: VCOMP_IT_SECRET}
limits:
  keepalive: 1s
  peer-timeout: 3s
  backoff-min: 100ms
  backoff-max: 1s
SPEC
}

# ------------------------------------------------------------ 1. --check
echo "== 1. node binaries and --check"
it_san_link
mkdir -p "$W/bin" "$W/bad"
spec 127.0.0.1 >"$W/spec.yaml"
spec node2.invalid >"$W/bad/spec.yaml"
if (cd "$W" && "$VCOMPC" --all -d bin spec.yaml && cd bad &&
    "$VCOMPC" --node node1 -o vcomp-node1 spec.yaml) >"$W/build.log" 2>&1; then
	it_pass "1a vcompc builds vcomp-node1, vcomp-node2 (and a node1 whose peer does not resolve)"
else
	it_fail "1a vcompc builds the node binaries" "$W/build.log"
	it_summary
	exit 1
fi

"$W/bin/vcomp-node1" --check >"$W/1b.log" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q 'secrets, addresses and listening ports OK$' "$W/1b.log" &&
    grep -q "stats listener 127.0.0.1:${STATS[1]}: can listen" "$W/1b.log" &&
    grep -q "peer listener 127.0.0.1:${PEERP[1]}: can listen" "$W/1b.log" &&
    ! grep -q warning "$W/1b.log"; then
	it_pass "1b --check: exit 0, every listening address test-bound, no warning"
else
	it_fail "1b --check: exit 0 (got $rc)" "$W/1b.log"
fi

VCOMP_IT_CLUSTER_SECRET=short "$W/bin/vcomp-node2" --check >"$W/1c.log" 2>&1
rc=$?
if [ $rc = 0 ] && grep -q 'warning: cluster secret is only 5 byte(s)' "$W/1c.log" &&
    grep -q 'OK, with warnings$' "$W/1c.log"; then
	it_pass "1c --check warns about a 5-byte cluster secret (exit 0)"
else
	it_fail "1c --check warns about a 5-byte cluster secret (got $rc)" "$W/1c.log"
fi

# Something else listens on node1's stats port.
$IT_PY -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
print("LISTENING", flush=True); time.sleep(30)' "${STATS[1]}" >"$W/squatter.log" 2>&1 &
SQUAT=$!
it_track "$SQUAT"
it_wait_log "$W/squatter.log" LISTENING 5
env -u VCOMP_IT_SECRET "$W/bin/vcomp-node1" --check >"$W/1d.log" 2>&1
rc=$?
it_kill "$SQUAT"
if [ $rc = 1 ] &&
    grep -q "error: stats listener 127.0.0.1:${STATS[1]}: address already in use" "$W/1d.log" &&
    grep -q "error: .*VCOMP_IT_SECRET" "$W/1d.log" &&
    grep -q "home listener 127.0.0.1:${LISTEN[1]}: can listen" "$W/1d.log" &&
    grep -q '2 problem(s)' "$W/1d.log"; then
	it_pass "1d --check names the taken port and the missing secret, exit 1"
else
	it_fail "1d --check names the taken port and the missing secret (got $rc)" "$W/1d.log"
fi

"$W/bad/vcomp-node1" --check >"$W/1e.log" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "error: peer node2 address node2.invalid:${PEERP[2]} does not resolve" "$W/1e.log"; then
	it_pass "1e --check reports a peer address that does not resolve (exit 1)"
else
	it_fail "1e --check reports a peer address that does not resolve (got $rc)" "$W/1e.log"
fi

# ------------------------------------------------------------ 2. running
echo "== 2. two runtimes under a fake service manager"
for n in 1 2; do
	it_prosody_node "$n" "2a prosody node$n starts"
	$IT_PY "$IT_DIR/notify_reader.py" "$W/notify$n.sock" "$W/notify$n.log" \
	    --lifetime 90 2>>"$W/notify-reader.err" &
	it_track $!
	it_wait_log "$W/notify$n.log" LISTENING 5
done

# node1 logs to a file that JOURNAL_STREAM names (device:inode), as if it
# were the journal's stream; node2 to a plain file.
: >"$W/runtime-node1.log"
JS=$(stat -c '%d:%i' "$W/runtime-node1.log")
T0=$(date +%s%3N)
JOURNAL_STREAM=$JS NOTIFY_SOCKET=$W/notify1.sock WATCHDOG_USEC=600000 \
    "$W/bin/vcomp-node1" 2>>"$W/runtime-node1.log" &
RT[1]=$!
it_track "${RT[1]}"
# node2's WATCHDOG_PID names another process (this shell): the watchdog is
# not meant for it, so it must send no WATCHDOG=1 (sd_watchdog_enabled(3)).
NOTIFY_SOCKET=$W/notify2.sock WATCHDOG_USEC=600000 WATCHDOG_PID=$$ \
    "$W/bin/vcomp-node2" 2>>"$W/runtime-node2.log" &
RT[2]=$!
it_track "${RT[2]}"

if it_wait_log "$W/notify1.log" ' READY=1$' 5 && it_wait_log "$W/notify2.log" ' READY=1$' 5 &&
    it_wait_count "$W/prosody1/prosody.log" "$AUTH_RE" 1 6 &&
    it_wait_count "$W/prosody2/prosody.log" "$AUTH_RE" 1 6; then
	it_pass "2a both runtimes send READY=1 and their upstreams authenticate"
else
	it_fail "2a both runtimes send READY=1" "$W/notify1.log" "$W/notify2.log" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log"
fi

# Before the real component connects, node2 says so.
if it_wait_log "$W/notify2.log" 'STATUS=1/1 peer links up, muc: no home reachable$' 5; then
	it_pass "2b STATUS= on node2: '1/1 peer links up, muc: no home reachable'"
else
	it_fail "2b STATUS= on node2 before the component" "$W/notify2.log"
fi
curl -s -o "$W/2c-health.txt" -w '%{http_code}' "http://127.0.0.1:${STATS[2]}/health" >"$W/2c-code.txt"
if [ "$(cat "$W/2c-code.txt")" = 503 ] &&
    grep -q '^component muc.example.test: upstream up, no home reachable$' "$W/2c-health.txt"; then
	it_pass "2c /health on node2 is 503 while no home is reachable, and says why"
else
	it_fail "2c /health 503 without a home (got $(cat "$W/2c-code.txt"))" "$W/2c-health.txt"
fi

$COMPONENT run --port "${LISTEN[1]}" --secret "$VCOMP_IT_SECRET" \
    --log "$W/component.log" --lifetime 80 >>"$W/component.out" 2>&1 &
it_track $!
if it_wait_count "$W/component.log" SESSION-START 1 5 &&
    it_wait_log "$W/notify2.log" 'STATUS=1/1 peer links up, muc: home reachable on node1$' 5 &&
    it_wait_log "$W/notify1.log" 'STATUS=1/1 peer links up, muc: home reachable$' 5; then
	it_pass "2d STATUS= follows: 'home reachable on node1' (node2), 'home reachable' (node1)"
else
	it_fail "2d STATUS= after the component connects" "$W/notify1.log" "$W/notify2.log" "$W/component.out"
fi
ok=1
for n in 1 2; do
	code=$(curl -s -o "$W/2e-health$n.txt" -w '%{http_code}' "http://127.0.0.1:${STATS[$n]}/health")
	[ "$code" = 200 ] && grep -q '^ok: 1/1 peer links up' "$W/2e-health$n.txt" || ok=0
done
if [ $ok = 1 ]; then
	it_pass "2e /health is 200 on both nodes once everything is up"
else
	it_fail "2e /health 200 on both" "$W/2e-health1.txt" "$W/2e-health2.txt"
fi

# WATCHDOG_USEC=600000: WATCHDOG=1 every 300 ms from node1, none from node2.
sleep 1.6
awk '/ WATCHDOG=1$/ { if (p) print $1 - p; p = $1 }' "$W/notify1.log" >"$W/gaps1.txt"
cnt=$(wc -l <"$W/gaps1.txt")
bad=$(awk '$1 < 200 || $1 > 450' "$W/gaps1.txt" | wc -l)
echo "  node1: $((cnt + 1)) WATCHDOG=1, gaps (ms) $(tr '\n' ' ' <"$W/gaps1.txt" | cut -c1-60)..."
if [ "$cnt" -ge 4 ] && [ "$bad" -le 1 ] && ! grep -q WATCHDOG "$W/notify2.log"; then
	it_pass "2f WATCHDOG=1 every ~300 ms (half of WATCHDOG_USEC) from node1; none from node2 (WATCHDOG_PID is not its pid)"
else
	it_fail "2f WATCHDOG=1 every ~300 ms from node1 ($bad gaps off), none from node2" "$W/notify1.log" "$W/notify2.log"
fi

if grep -Eq '^<6>vcomp-node1: info: ' "$W/runtime-node1.log" &&
    ! grep -Evq '^<[3467]>vcomp-node1: (error|warning|info|debug): ' "$W/runtime-node1.log" &&
    grep -Eq '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z vcomp-node2: info: ' "$W/runtime-node2.log" &&
    ! grep -Evq '^20[0-9-]{8}T[0-9:]{8}\.[0-9]{3}Z vcomp-node2: ' "$W/runtime-node2.log"; then
	it_pass "2g logs: '<6>' priorities under JOURNAL_STREAM, RFC 3339 timestamps otherwise"
else
	it_fail "2g log prefixes" "$W/runtime-node1.log" "$W/runtime-node2.log"
fi

# ------------------------------------------------------------ 3. HTTP
echo "== 3. the stats listener speaks HTTP/1.1"
S=${STATS[1]}
probe() {        # probe NAME REQUEST [ARGS]: $W/3-NAME.txt
	local name=$1
	shift
	$PROBE "$S" "$@" >"$W/3-$name.txt" 2>&1
}
want() {         # want NAME STATUS-LINE-REGEX CHECK-NAME
	if grep -Eq "^$2" "$W/3-$1.txt"; then
		it_pass "$3"
	else
		it_fail "$3" "$W/3-$1.txt"
	fi
}
probe get 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nUser-Agent: it\r\n\r\n'
want get 'HTTP/1.1 200 OK' "3a GET /metrics: 200"
probe head 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n'
if grep -q '^HTTP/1.1 200 OK' "$W/3-head.txt" && grep -q '^BODY-BYTES 0$' "$W/3-head.txt" &&
    grep -Eq '^HEADER Content-Length: [1-9][0-9]+' "$W/3-head.txt"; then
	it_pass "3b HEAD /metrics: 200, Content-Length, no body"
else
	it_fail "3b HEAD /metrics" "$W/3-head.txt"
fi
probe lf 'GET /metrics?x=1 HTTP/1.0\n\n'
want lf 'HTTP/1.1 200 OK' "3c an HTTP/1.0 request with bare LF and a query: 200"
probe nohost 'GET /metrics HTTP/1.1\r\n\r\n'
want nohost 'HTTP/1.1 400 ' "3d HTTP/1.1 without Host: 400"
probe garbage 'hello there\r\n\r\n'
want garbage 'HTTP/1.1 400 ' "3e a request line that is not one: 400"
probe space 'GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n'
want space 'HTTP/1.1 400 ' "3f whitespace before a header colon: 400"
probe v2 'GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n'
want v2 'HTTP/1.1 505 ' "3g HTTP/2.0: 505"
probe post 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n'
if grep -q '^HTTP/1.1 405 ' "$W/3-post.txt" && grep -q '^HEADER Allow: GET, HEAD' "$W/3-post.txt"; then
	it_pass "3h POST: 405 with Allow: GET, HEAD"
else
	it_fail "3h POST: 405" "$W/3-post.txt"
fi
probe nf 'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n'
want nf 'HTTP/1.1 404 ' "3i an unknown path: 404"
probe big "GET /metrics HTTP/1.1\\r\\nHost: x\\r\\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n"
want big 'HTTP/1.1 431 ' "3j a 9 kB request head: 431"

# A slow client: half a request line, then nothing.  It gets a 408 after
# STATS_READ_TIMEOUT_MS (5 s); meanwhile metrics are served and stanzas
# flow through node1.
$PROBE "$S" 'GET /met' --slow --gap 0.05 >"$W/3-slow.txt" 2>&1 &
SLOW=$!
it_track "$SLOW"
sleep 0.5
t=$(date +%s%3N)
probe during 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n'
during_ms=$(( $(date +%s%3N) - t ))
$CLIENT --port "${C2S[2]}" --user bob iq-roundtrip --to "$DOMAIN" \
    --text "it-ops-$$" >"$W/3-iq.log" 2>>"$W/client-stderr.log"
rc=$?
if grep -q '^HTTP/1.1 200 ' "$W/3-during.txt" && [ "$during_ms" -lt 2000 ] && [ $rc = 0 ]; then
	it_pass "3k while a slow client holds a connection: /health in ${during_ms} ms, an iq round trip node2 -> node1 works"
else
	it_fail "3k serving while a slow client waits (${during_ms} ms, iq rc $rc)" "$W/3-during.txt" "$W/3-iq.log"
fi
it_wait_exit "$SLOW" 10
el=$(sed -n 's/^ELAPSED //p' "$W/3-slow.txt")
if grep -q '^HTTP/1.1 408 ' "$W/3-slow.txt" && awk -v e="${el:-0}" 'BEGIN { exit !(e >= 4.5 && e < 7) }'; then
	it_pass "3l a slow client gets 408 after ${el} s"
else
	it_fail "3l a slow client gets 408 after ~5 s (${el:-?} s)" "$W/3-slow.txt"
fi

# ------------------------------------------------------------ 4. metrics
echo "== 4. metrics, promtool, a real Prometheus"
for n in 1 2; do
	it_metrics "${STATS[$n]}" >"$W/metrics$n.txt"
done
m1=$W/metrics1.txt m2=$W/metrics2.txt
if [ "$(it_metric "$m1" vcomp_peer_up 'peer="node2"')" = 1 ] &&
    [ "$(it_metric "$m2" vcomp_peer_up 'peer="node1"')" = 1 ] &&
    [ "$(it_metric "$m1" vcomp_component_upstream_up "component=\"$DOMAIN\"")" = 1 ] &&
    [ "$(it_metric "$m1" vcomp_component_home_connected "component=\"$DOMAIN\"")" = 1 ] &&
    [ "$(it_metric "$m2" vcomp_component_home_reachable "component=\"$DOMAIN\"")" = 1 ] &&
    [ "$(it_metric "$m2" vcomp_component_to_peer_total "component=\"$DOMAIN\"")" -ge 1 ] &&
    [ "$(it_metric "$m1" vcomp_component_forwarded_total "component=\"$DOMAIN\"")" -ge 1 ] &&
    [ -n "$(it_metric "$m1" vcomp_peer_rtt_seconds 'peer="node2"')" ] &&
    [ -n "$(it_metric "$m1" vcomp_return_routes)" ] &&
    grep -q '^vcomp_component_bounced_total{component="muc.example.test",reason="queue_full"} 0$' "$m1" &&
    grep -q '^vcomp_queue_oldest_age_seconds{component="muc.example.test",queue="home"} ' "$m1" &&
    [ "$(it_metric "$m1" process_resident_memory_bytes)" -gt 100000 ] &&
    awk -v now="$(date +%s)" '$1 == "process_start_time_seconds" { d = now - $2; exit !(d >= 0 && d < 120) }' "$m1"; then
	it_pass "4a metrics: links up, upstream, homes, flows, rtt $(it_metric "$m1" vcomp_peer_rtt_seconds 'peer="node2"') s, routes, queues, process"
else
	it_fail "4a metrics" "$m1" "$m2"
fi
if promtool check metrics <"$m1" >"$W/promtool1.txt" 2>&1 &&
    promtool check metrics <"$m2" >"$W/promtool2.txt" 2>&1; then
	it_pass "4b promtool check metrics accepts both expositions (no lint warning)"
else
	it_fail "4b promtool check metrics" "$W/promtool1.txt" "$W/promtool2.txt"
fi

mkdir -p "$W/prom"
cat >"$W/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vcomp
    static_configs:
      - targets: ['127.0.0.1:${STATS[1]}', '127.0.0.1:${STATS[2]}']
YML
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$W/prometheus.log" 2>&1 &
PROM=$!
it_track "$PROM"
# query EXPR: the number of series EXPR returns with the value 1.
query() {
	curl -s --max-time 2 -G "http://127.0.0.1:$PROM_PORT/api/v1/query" \
	    --data-urlencode "query=$1" >"$W/query.json" 2>/dev/null || { echo 0; return; }
	$IT_PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(sum(1 for s in r.get("data", {}).get("result", []) if s["value"][1] == "1"))' "$W/query.json" 2>/dev/null || echo 0
}
ok=0
for i in $(seq 60); do
	if [ "$(query 'up{job="vcomp"}')" = 2 ] && [ "$(query 'vcomp_peer_up')" = 2 ] &&
	    [ "$(query 'vcomp_component_upstream_up{component="muc.example.test"}')" = 2 ]; then
		ok=1
		break
	fi
	sleep 0.25
done
if [ $ok = 1 ]; then
	it_pass "4c Prometheus scrapes both runtimes: up, vcomp_peer_up and vcomp_component_upstream_up are 1 for both"
else
	it_fail "4c Prometheus scrapes both runtimes" "$W/query.json" "$W/prometheus.log"
fi
it_kill "$PROM"

# ------------------------------------------------------------ 5. losses
echo "== 5. a lost link says why"
kill -KILL "${RT[2]}"
wait "${RT[2]}" 2>/dev/null
it_untrack "${RT[2]}"
if it_wait_log "$W/runtime-node1.log" '^<4>vcomp-node1: warning: peer node2 \(127\.0\.0\.1:[0-9]+\): link down: .+' 5 &&
    it_wait_log "$W/notify1.log" 'STATUS=0/1 peer links up, muc: home reachable$' 5; then
	it_pass "5a node1: '$(grep -o 'link down: .*' "$W/runtime-node1.log" | head -n 1)', STATUS=0/1 peer links up"
else
	it_fail "5a node1 says why the link went down" "$W/runtime-node1.log" "$W/notify1.log"
fi
kill -TERM "${RT[1]}"
if it_wait_exit "${RT[1]}" 6 && [ "$IT_RC" = 0 ] && grep -q ' STOPPING=1$' "$W/notify1.log"; then
	it_pass "5b SIGTERM: STOPPING=1, exit 0"
else
	it_fail "5b SIGTERM: STOPPING=1, exit 0" "$W/notify1.log" "$W/runtime-node1.log"
fi
if [ -n "$SAN" ] && it_san_reports "$W/runtime-node1.log" "$W/runtime-node2.log"; then
	it_fail "5c no sanitizer report" "$W/runtime-node1.log" "$W/runtime-node2.log"
fi
echo "  took $(( ($(date +%s%3N) - T0) / 1000 )) s after the build"
it_summary
