#!/bin/bash
# run.sh — `make bench` and `make bench-quick` (QUICK=1): throughput,
# latency, memory and size of the runtime, each figure beside a baseline
# measured in the same run, as a ratio, with the median and the spread over
# RUNS runs.  Nothing here asserts on a figure: targets are printed as
# "met" / "NOT met" and the exit status only says whether the bench ran.
#
#   1 parser limit      build/bench/parse (the runtime's xs_* parser)
#                       vs memcpy+memchr over the same bytes
#   2 one runtime, hop  build/bench/loadgen hop: server + component around
#                       one node binary built by vcompc; vs (1) in-process
#   3 virtual path      build/bench/loadgen lat: vcomp-V -> peer link ->
#                       vcomp-H -> echoing component -> back: the path's own
#                       saturation rate, then latency at 10/50/90 % of (2)'s
#                       rate (loadNN) and of its own (pathNN); vs a loopback
#                       TCP echo at the same rate; run twice, encrypted
#                       (TLS, the default) and plaintext, paired run by
#                       run in 3-tls-cost; with valgrind, both runtimes'
#                       instructions per frame across the link, TLS and
#                       plaintext (loadgen window; ONLY=3ir alone)
#   4 real server       build/bench/xmppc clients on Prosody2 -> vcomp-node2
#                       -> peer link -> vcomp-node1 -> build/bench/echocomp;
#                       vs the same clients on Prosody1 talking to the same
#                       echocomp connected directly (skipped with QUICK)
#   5 memory            idle RSS, RSS under a flood with a stopped
#                       component vs the caps, 1 M return routes
#   6 size              stripped static binary vs the 2 MiB budget;
#                       vcompc on 10 000 components vs 1 000
#   +                   callgrind instructions per forwarded stanza vs the
#                       parser's, and the profile of the hot path
#
# Everything on 127.0.0.1 with ports chosen at run time; every process is
# killed by pid from the EXIT trap (tests/integration/lib.sh).  Results:
# $B/bench/results.csv (aggregated), raw.txt (every run), profile.txt.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/integration/lib.sh"
B=${B:-$root/build}
VCOMPC=${VCOMPC:-$B/vcompc}
QUICK=${QUICK:-}
CC=${CC:-cc}
export CC
unset VCOMP_LIBDIR VCOMP_STATIC VCOMP_EXTRA_CFLAGS

if [ -n "$QUICK" ]; then
	RUNS=3 PARSE_N=50000 HOP_N=40000 LAT_SECS=0.25 FLOOD_MB=24
	LAT_MIN_SAMPLES=0 SAT_PROBE_SECS=0.2 SAT_SEARCHES=1
	ROUTES_N=1000000 ROUTES_LIVE_N=200000 CG_N1=1000 CG_N2=4000
else
	RUNS=5 PARSE_N=200000 HOP_N=200000 LAT_SECS=1.0 FLOOD_MB=64
	LAT_MIN_SAMPLES=10000 SAT_PROBE_SECS=0.5 SAT_SEARCHES=$RUNS
	ROUTES_N=1000000 ROUTES_LIVE_N=1000000 CG_N1=2000 CG_N2=12000
fi
OUTPUT_CAP=$((4 * 1024 * 1024))
QUEUE_BYTES=$((2 * 1024 * 1024))

OUT=$B/bench
mkdir -p "$OUT"
RAW=$OUT/raw.txt
: >"$RAW"
it_init bench
W=$IT_WORK
export VCOMP_BENCH_SECRET="bench-$RANDOM$RANDOM$$"
export VCOMP_BENCH_CLUSTER_SECRET="bench-cluster-$RANDOM$RANDOM$$"
for t in parse loadgen routes_mem xmppc echocomp mucc fanout; do
	[ -x "$B/bench/$t" ] || { echo "bench: $B/bench/$t is missing (make bench builds it)" >&2; exit 1; }
done
note() { echo "bench: $*" >&2; }
# want N: section N is to run (ONLY, e.g. ONLY="1 2 3 5", selects some).
want() { [ -z "${ONLY:-}" ] || case " $ONLY " in *" $1 "*) ;; *) return 1 ;; esac; }
fail() { echo "bench: $*" >&2; IT_FAIL=$((IT_FAIL + 1)); exit 1; }
# median FIELD-METRIC: the median value of a metric already in $RAW.
median() {
	awk -v m="$1" '$1 == "R" && $3 == m { print $5 }' "$RAW" | sort -g |
	    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

note "work dir $W; $( [ -n "$QUICK" ] && echo quick || echo full ) run, $RUNS runs"

# ------------------------------------------------------------- node specs
port() { it_free_port || fail "no free port"; }
# PORT_BASE (tests/bench/portable.sh): the ports of sections 2, 3 and 5 are
# PORT_BASE .. PORT_BASE+8, as baked into the bundle's node binaries.
if [ -n "${PORT_BASE:-}" ]; then
	SPORT=$PORT_BASE PPORT=$((PORT_BASE + 1)) LPORT=$((PORT_BASE + 2))
	VS=$((PORT_BASE + 3)) VP=$((PORT_BASE + 4)) HS=$((PORT_BASE + 5))
	HP=$((PORT_BASE + 6)) HL=$((PORT_BASE + 7)) HST=$((PORT_BASE + 8))
else
	SPORT=$(port) PPORT=$(port) LPORT=$(port)
	VS=$(port) VP=$(port) HS=$(port) HP=$(port) HL=$(port) HST=$(port)
fi
cat >"$W/hop.yaml" <<EOF
# One node, the component homed there: section 2 and 5.
version: 1
cluster:
  secret: {env: VCOMP_BENCH_CLUSTER_SECRET}
nodes:
  n1:
    server: 127.0.0.1:$SPORT
    peer: 127.0.0.1:$PPORT
    listen: 127.0.0.1:$LPORT
components:
  muc.bench.test:
    home: n1
    secret: {env: VCOMP_BENCH_SECRET}
    category: conference
    type: text
    features: [http://jabber.org/protocol/muc]
limits:
  output-cap: $OUTPUT_CAP
  queue-bytes: $QUEUE_BYTES
  keepalive: 600s
  backoff-min: 20ms
  backoff-max: 200ms
EOF
if [ -n "${PREBUILT:-}" ]; then
	# A bundle (portable.sh): the node binaries were built with these
	# specs and ports by make bench-bundle.
	cp "$PREBUILT/vcomp-n1" "$PREBUILT/vcomp-n1-sym" "$W/" ||
		fail "no node binaries in $PREBUILT"
else
	(cd "$W" && "$VCOMPC" --node n1 -o vcomp-n1 hop.yaml) >"$W/build.log" 2>&1 ||
		{ cat "$W/build.log" >&2; fail "vcompc could not build the bench node"; }
	# The same table linked without -s, for callgrind and perf symbols.
	(cd "$W" && "$VCOMPC" -c --node n1 -o table-n1.c hop.yaml &&
		$CC -std=c17 -O2 -g -static -I"$root/runtime" -o vcomp-n1-sym \
		    table-n1.c "$B/libvcrt.a" -lmbedtls -lmbedx509 -lmbedcrypto -lexpat -lnettle) >>"$W/build.log" 2>&1 ||
		{ cat "$W/build.log" >&2; fail "could not link the unstripped node"; }
fi

# Two nodes for sections 3 and 5: vcomp-v and vcomp-h (the home).
cat >"$W/cluster.yaml" <<EOF
# Two nodes: vcomp-v (virtual) and vcomp-h (home of the component).
version: 1
cluster:
  secret: {env: VCOMP_BENCH_CLUSTER_SECRET}
nodes:
  v:
    server: 127.0.0.1:$VS
    peer: 127.0.0.1:$VP
  h:
    server: 127.0.0.1:$HS
    peer: 127.0.0.1:$HP
    listen: 127.0.0.1:$HL
    stats: 127.0.0.1:$HST
components:
  muc.bench.test:
    home: h
    secret: {env: VCOMP_BENCH_SECRET}
    category: conference
    type: text
    features: [http://jabber.org/protocol/muc]
limits:
  keepalive: 600s
  peer-timeout: 1800s
  backoff-min: 20ms
  backoff-max: 200ms
EOF
mkdir -p "$W/cluster"
CLUSTER=
if [ -n "${PREBUILT:-}" ]; then
	cp "$PREBUILT/vcomp-v" "$PREBUILT/vcomp-h" "$W/cluster/" 2>"$W/build-cluster.log"
else
	(cd "$W" && "$VCOMPC" --all -d cluster cluster.yaml) >"$W/build-cluster.log" 2>&1
fi
[ -x "$W/cluster/vcomp-v" ] && [ -x "$W/cluster/vcomp-h" ] && CLUSTER=1
# The same cluster with plaintext peer links, for section 3's comparison
# (3-virtual-path-plain, 3-tls-cost).
sed 's/^  secret: {env: VCOMP_BENCH_CLUSTER_SECRET}$/&\n  peer-encryption: none/' \
    "$W/cluster.yaml" >"$W/cluster-plain.yaml"
mkdir -p "$W/cluster-plain"
if [ -n "${PREBUILT:-}" ]; then
	cp "$PREBUILT/plain-vcomp-v" "$W/cluster-plain/vcomp-v" 2>/dev/null
	cp "$PREBUILT/plain-vcomp-h" "$W/cluster-plain/vcomp-h" 2>/dev/null
else
	(cd "$W" && "$VCOMPC" --all -d cluster-plain cluster-plain.yaml) \
	    >>"$W/build-cluster.log" 2>&1
fi

# BUNDLE_OUT (make bench-bundle): keep the node binaries, measure nothing.
if [ -n "${BUNDLE_OUT:-}" ]; then
	[ -n "$CLUSTER" ] || { cat "$W/build-cluster.log" >&2; fail "cannot build the two-node cluster"; }
	cp "$W/vcomp-n1" "$W/vcomp-n1-sym" "$W/cluster/vcomp-v" "$W/cluster/vcomp-h" \
	    "$BUNDLE_OUT/" || fail "cannot write to $BUNDLE_OUT"
	cp "$W/cluster-plain/vcomp-v" "$BUNDLE_OUT/plain-vcomp-v" &&
	    cp "$W/cluster-plain/vcomp-h" "$BUNDLE_OUT/plain-vcomp-h" ||
	    fail "cannot write to $BUNDLE_OUT"
	exit 0
fi

# hop_session LOADGEN-ARGS... -- RUNTIME-CMD...: runs loadgen hop against
# one runtime; loadgen's result lines go to $RAW.
hop_session() {
	local args=() rt lg
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	rm -f "$W/rt.pid"
	"$B/bench/loadgen" hop "$SPORT" "$LPORT" "$W/rt.pid" "${args[@]}" \
	    >"$W/hop.out" 2>"$W/hop.err" &
	lg=$!
	it_track "$lg"
	it_wait_log "$W/hop.err" listening 5 || fail "loadgen did not start: $(cat "$W/hop.err")"
	"$@" 2>"$W/rt.log" &
	rt=$!
	it_track "$rt"
	echo "$rt" >"$W/rt.pid"
	it_wait_exit "$lg" 600
	local rc=$IT_RC
	kill -TERM "$rt" 2>/dev/null
	it_wait_exit "$rt" 60 || it_kill "$rt"
	[ "$rc" = 0 ] || { cat "$W/hop.err" "$W/rt.log" >&2; fail "loadgen hop failed"; }
}

# ------------------------------------------------------------- 1. parser
if want 1; then
	note "1. parser: $PARSE_N stanzas x $RUNS"
	"$B/bench/parse" "$PARSE_N" "$RUNS" >>"$RAW" 2>"$W/parse.err" ||
		{ cat "$W/parse.err" >&2; fail "parse failed"; }
	cat "$W/parse.err" >&2
fi

# ---------------------------------------------- 2 + 5. one hop, flood, RSS
if want 2; then
	note "2. one runtime, one hop: $HOP_N stanzas x $RUNS; 5. flood of $FLOOD_MB MB"
	hop_session "$HOP_N" "$RUNS" "$FLOOD_MB" $((OUTPUT_CAP + QUEUE_BYTES)) -- \
	    "$W/vcomp-n1" -q
	cat "$W/hop.out" >>"$RAW"
	echo "R 5-memory cap_output+queue MiB $(( (OUTPUT_CAP + QUEUE_BYTES) / 1048576 )) - 0" >>"$RAW"
	SAT=$(median hop_rate)
	note "   saturation rate (median): $SAT stanzas/s"
else
	SAT=${SAT:-}
fi

# ------------------------------------------- instructions per stanza (2)
# The difference of two runs of N1 and N2 stanzas removes start-up and
# handshakes; loadgen forwards each count twice (warm-up + one run).
if want 2; then
	note "callgrind: instructions per forwarded stanza ($CG_N1 and $CG_N2)"
	cg_ir() {   # cg_ir FILE: total Ir of a callgrind output
		sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$1" | tail -n 1
	}
	if command -v valgrind >/dev/null 2>&1; then
		for n in $CG_N1 $CG_N2; do
			hop_session "$n" 1 0 0 -- valgrind --tool=callgrind \
			    --callgrind-out-file="$W/cg.$n" "$W/vcomp-n1-sym" -q
		done
		ir1=$(cg_ir "$W/cg.$CG_N1") ir2=$(cg_ir "$W/cg.$CG_N2")
		valgrind --tool=callgrind --toggle-collect=bench_parse \
		    --callgrind-out-file="$W/cg.parse" "$B/bench/parse" "$CG_N2" 1 \
		    >/dev/null 2>"$W/cg-parse.err"
		irp=$(cg_ir "$W/cg.parse")
		if [ -n "$ir1" ] && [ -n "$ir2" ] && [ -n "$irp" ]; then
			# parse runs bench_parse twice (warm-up + 1 run).
			awk -v a="$ir1" -v b="$ir2" -v n1="$CG_N1" -v n2="$CG_N2" -v p="$irp" 'BEGIN {
				printf "R 2-one-hop runtime_Ir_per_stanza Ir %.1f parse_Ir_per_stanza %.1f\n",
				    (b - a) / (2 * (n2 - n1)), p / (2 * n2) }' >>"$RAW"
			callgrind_annotate --inclusive=no "$W/cg.$CG_N2" 2>/dev/null |
			    head -n 45 >"$OUT/profile.txt"
			callgrind_annotate --inclusive=yes "$W/cg.$CG_N2" 2>/dev/null |
			    head -n 45 >"$OUT/profile-inclusive.txt"
		else
			note "callgrind gave no totals; see $W"
		fi
	else
		note "valgrind is not installed: no instruction counts"
	fi
	if perf stat -e instructions -x, true 2>&1 | grep -q '^[0-9]'; then
		note "perf stat -e instructions works here (not used: callgrind is exact)"
	else
		note "perf stat -e instructions: not supported on this machine (no PMU in the VM)"
	fi
fi

# ------------------------------------------------------ 3. virtual path
# Run twice in the same bench: the peer link encrypted (TLS, the default;
# $W/cluster) and in plaintext (peer-encryption: none; $W/cluster-plain).
# The plaintext figures go to section 3-virtual-path-plain, and
# 3-tls-cost pairs the two run by run.
cpu_ticks() {    # cpu_ticks PID...: utime + stime of the processes, in ticks
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
	done
	echo "$t"
}
# frames_sent TAG: STANZA frames the two runtimes sent, from their exit log.
frames_sent() {
	cat "$W/v-$1.log" "$W/h-$1.log" |
	    awk '/stats: vcomp_peer_frames_out_total/ { n += $NF } END { print n + 0 }'
}
# lat_run DIR TAG: loadgen lat against the two runtimes of DIR; result
# lines in $W/lat-TAG.out, CPU ticks of the runtimes in $W/cpu-TAG.txt.
lat_run() {
	local dir=$1 tag=$2 lg v h rc
	note "3. virtual path ($tag): its own saturation, then 10/50/90 % of" \
	    "$SAT stanzas/s (one hop) and of its own, ${LAT_SECS}s or" \
	    "$LAT_MIN_SAMPLES samples each, x $RUNS"
	"$B/bench/loadgen" lat "$VS" "$HL" "$HS" "$SAT" "$LAT_SECS" "$RUNS" \
	    "$LAT_MIN_SAMPLES" "$SAT_PROBE_SECS" "$SAT_SEARCHES" \
	    >"$W/lat-$tag.out" 2>"$W/lat-$tag.err" &
	lg=$!
	it_track "$lg"
	it_wait_log "$W/lat-$tag.err" listening 5
	# Info level: the counters are logged at exit, nothing per stanza.
	"$dir/vcomp-v" 2>"$W/v-$tag.log" &
	v=$!
	it_track "$v"
	"$dir/vcomp-h" 2>"$W/h-$tag.log" &
	h=$!
	it_track "$h"
	it_wait_exit "$lg" 600
	rc=$IT_RC
	grep -E 'saturation probe|path saturation' "$W/lat-$tag.err" \
	    >"$OUT/path-saturation-$tag.txt"
	# CPU (user + system) of both runtimes over the whole run, per STANZA
	# frame crossing the link: what a frame costs the two runtimes
	# together, scheduling noise aside.
	cpu_ticks "$v" "$h" >"$W/cpu-$tag.txt"
	it_kill "$v"
	it_kill "$h"
	if [ "$rc" != 0 ]; then
		cat "$W/lat-$tag.err" "$W/v-$tag.log" "$W/h-$tag.log" >&2
		note "virtual path bench ($tag) failed"
		return 1
	fi
}
if ! want 3; then
	:
elif [ -n "$CLUSTER" ] && [ -n "$SAT" ] && lat_run "$W/cluster" tls; then
	cp "$OUT/path-saturation-tls.txt" "$OUT/path-saturation.txt"
	cat "$W/lat-tls.out" >>"$RAW"
	if [ -x "$W/cluster-plain/vcomp-v" ] && lat_run "$W/cluster-plain" none; then
		sed 's/^R 3-virtual-path /R 3-virtual-path-plain /' "$W/lat-none.out" >>"$RAW"
		# Run by run: the encrypted figure against the plaintext one
		# (each pathNN point is at NN % of that path's own saturation).
		for m in path_saturation path50_p99; do
			paste -d ' ' \
			    <(awk -v m="$m" '$1 == "R" && $3 == m { print $4, $5 }' "$W/lat-tls.out") \
			    <(awk -v m="$m" '$1 == "R" && $3 == m { print $4, $5 }' "$W/lat-none.out") |
			    awk -v m="$m" 'NF == 4 { print "R 3-tls-cost " m "_tls " $1 " " $2 " plain_" $3 " " $4 }' >>"$RAW"
		done
		hz=$(getconf CLK_TCK)
		ft=$(frames_sent tls) fn=$(frames_sent none)
		if [ "$ft" -gt 0 ] && [ "$fn" -gt 0 ]; then
			echo "R 3-tls-cost cpu_per_frame_tls us $(awk -v t="$(cat "$W/cpu-tls.txt")" \
			    -v f="$ft" -v hz="$hz" 'BEGIN { print t / hz / f * 1e6 }') plain_us" \
			    "$(awk -v t="$(cat "$W/cpu-none.txt")" -v f="$fn" -v hz="$hz" \
			    'BEGIN { print t / hz / f * 1e6 }')" >>"$RAW"
		fi
		paste -d ' ' \
		    <(awk '$1 == "R" && $3 == "path50_p99" { print $5 }' "$W/lat-tls.out") \
		    <(awk '$1 == "R" && $3 == "path50_p99" { print $5 }' "$W/lat-none.out") |
		    awk 'NF == 2 { print "R 3-tls-cost path50_p99_tls_minus_plain us " $1 - $2 " - -" }' >>"$RAW"
	else
		note "3. the plaintext comparison did not run"
	fi
else
	note "3. skipped: cannot build the two-node cluster"; cat "$W/build-cluster.log" >&2
fi

# -------------------------- instructions per frame across the link (3)
# Callgrind counts of the two runtimes of section 3, encrypted and in
# plaintext: `loadgen window` sends CG_PATH_N messages through the path
# closed loop (WINDOW in flight); the runtimes' counters are zeroed once
# the path is up and dumped after the last echo, so the count is what the
# 2 x CG_PATH_N STANZA frames that crossed the link (and their ACKs) cost
# both runtimes together, without start-up, handshakes or shutdown.
# WINDOW 1 is one frame at a time each way; 32 lets the runtimes batch.
# With ONLY="3ir" this part runs alone.
# cg_calls FILE FUNCTION: how many times FUNCTION was called (callgrind's
# compressed names: "(ID) NAME" once, then "(ID)").
cg_calls() {
	awk -v f="$2" '
	function nm(s,   id) {
		if (match(s, /^\([0-9]+\)/)) {
			id = substr(s, RSTART, RLENGTH)
			if (length(s) > RLENGTH) names[id] = substr(s, RLENGTH + 2)
			return names[id]
		}
		return s
	}
	/^c?fn=/ { s = $0; sub(/^c?fn=/, "", s); n = nm(s); if ($0 ~ /^cfn=/) cur = n; next }
	/^calls=/ { if (cur == f) { split(substr($0, 7), a, " "); c += a[1] } }
	END { print c + 0 }' "$1"
}
cg_total() {   # cg_total FILE: total Ir of a callgrind output
	sed -n 's/^\(totals\|summary\): *\([0-9]*\).*/\2/p' "$1" | tail -n 1
}
# cg_per_frame INCLUSIVE PREFIX: every function of the two runtimes'
# dumps PREFIX.v.1 and PREFIX.h.1, Ir per frame (self or inclusive),
# summed over both, most first.
cg_per_frame() {
	local f
	for f in "$2.v.1" "$2.h.1"; do
		callgrind_annotate --inclusive="$1" --threshold=100 --auto=no "$f" 2>/dev/null
	done | awk -v f=$((2 * CG_PATH_N)) '
	# "1,234 ( 5.67%)  FILE:FUNCTION [BINARY]"; the functions that were
	# on the stack when the counters were zeroed show their inclusive cost.
	$1 ~ /^[0-9,]+$/ {
		n = $1; gsub(",", "", n)
		if (!sub(/^ *[0-9,]+ \( *[0-9.]+%\) +/, ""))
			next
		fn = $1; sub(/^.*:/, "", fn)
		if (fn !~ /^(main|node_run|loop_run|PROGRAM|\(below)/) ir[fn] += n
	}
	END { for (k in ir) if (ir[k] / f >= 1) printf "%10.1f  %s\n", ir[k] / f, k }' |
	    sort -rn
}
# cg_path TAG WINDOW: one run of both runtimes of the TAG cluster
# (unstripped: $W/sym-TAG-v, -h) under callgrind; the measured dumps are
# $W/cg-TAG-WINDOW.v.1 and .h.1.
cg_path() {
	local tag=$1 win=$2 lg v h rc o="$W/cg-$1-$2"
	"$B/bench/loadgen" window "$VS" "$HL" "$HS" "$CG_PATH_N" "$win" \
	    >"$o.lg.out" 2>"$o.lg.err" &
	lg=$!
	it_track "$lg"
	it_wait_log "$o.lg.err" listening 5 || return 1
	valgrind --tool=callgrind --callgrind-out-file="$o.v" \
	    "$W/sym-$tag-v" 2>"$o.v.log" &
	v=$!
	it_track "$v"
	valgrind --tool=callgrind --callgrind-out-file="$o.h" \
	    "$W/sym-$tag-h" 2>"$o.h.log" &
	h=$!
	it_track "$h"
	rc=1
	if it_wait_log "$o.lg.err" "path up" 120; then
		callgrind_control -z "$v" >/dev/null && callgrind_control -z "$h" >/dev/null &&
		    kill -USR1 "$lg" && it_wait_log "$o.lg.err" "done" 300 &&
		    callgrind_control -d "$v" >/dev/null &&
		    callgrind_control -d "$h" >/dev/null && rc=0
	fi
	kill -TERM "$v" "$h" 2>/dev/null
	it_wait_exit "$v" 60 || it_kill "$v"
	it_wait_exit "$h" 60 || it_kill "$h"
	it_kill "$lg"
	[ "$rc" = 0 ] && [ -s "$o.v.1" ] && [ -s "$o.h.1" ] ||
	    { cat "$o.lg.err" >&2; return 1; }
}
if (want 3 || want 3ir) && command -v callgrind_control >/dev/null 2>&1 &&
    [ -z "${PREBUILT:-}" ]; then
	CG_PATH_N=${CG_PATH_N:-2000}
	note "callgrind: the virtual path's instructions per frame ($CG_PATH_N round trips, window ${CG_WINDOWS:-1 32})"
	for tag in tls plain; do
		y=cluster.yaml
		[ "$tag" = plain ] && y=cluster-plain.yaml
		for nd in v h; do
			(cd "$W" && "$VCOMPC" -c --node "$nd" -o "table-$tag-$nd.c" "$y" &&
			    $CC -std=c17 -O2 -g -static -I"$root/runtime" \
			    -o "sym-$tag-$nd" "table-$tag-$nd.c" "$B/libvcrt.a" \
			    -lmbedtls -lmbedx509 -lmbedcrypto -lexpat -lnettle) \
			    >>"$W/build.log" 2>&1 ||
			    { cat "$W/build.log" >&2; fail "could not link the unstripped cluster"; }
		done
	done
	for win in ${CG_WINDOWS:-1 32}; do
		for tag in tls plain; do
			cg_path "$tag" "$win" ||
			    { note "callgrind of the virtual path ($tag, window $win) failed"; continue; }
			o="$W/cg-$tag-$win"
			# per FUNCTION: its calls per frame, both runtimes.
			per() {
				awk -v c=$(( $(cg_calls "$o.v.1" "$1") + $(cg_calls "$o.h.1" "$1") )) \
				    -v f=$((2 * CG_PATH_N)) 'BEGIN { printf "%.2f", c / f }'
			}
			echo "R 3-tls-cost Ir_per_frame_w${win}_$tag Ir" \
			    "$(( ($(cg_total "$o.v.1") + $(cg_total "$o.h.1")) / (2 * CG_PATH_N) ))" \
			    "records_per_frame $(per mbedtls_ssl_encrypt_buf)" >>"$RAW"
			echo "R 3-tls-cost writes_per_frame_w${win}_$tag calls" \
			    "$(per write) reads_per_frame $(per read)" >>"$RAW"
			cg_per_frame no "$o" >"$OUT/profile-path-$tag-w$win.txt"
			cg_per_frame yes "$o" >"$OUT/profile-path-$tag-w$win-inclusive.txt"
		done
	done
fi

# ------------------------------------------------ 4. real server end to end
# Two real Prosody servers for example.test (configs generated here: no
# TLS, SASL PLAIN allowed, loopback, info log so nothing is logged per
# stanza), the two node binaries vcompc builds from a two-node spec, and
# one echocomp process connected twice: as muc.example.test to vcomp-node1's
# home listener and as direct.example.test straight to Prosody1.
#
#   virtual: xmppc -c2s-> Prosody2 -> vcomp-node2 -peer-> vcomp-node1 -> echocomp
#   direct:  xmppc -c2s-> Prosody1 -----------------------------------> echocomp
#
# Each run measures both paths back to back with the same clients: the
# throughput with a closed loop (E2E_CONNS clients, E2E_WINDOW messages in
# flight each), then the latency open loop at half of that run's direct
# throughput.  Prosody keeps its default network settings.
#
# bench_prosody DIR C2S_PORT COMPONENT_PORT DOMAIN...: writes a config with
# users b1..b$E2E_CONNS (password pw; or $BP_USER$BP_FIRST..$BP_USER$BP_LAST)
# and one Component per DOMAIN; starts it (its pid in BP_PID); registers
# it for prosody-down.sh at exit.
bench_prosody() {
	local d=$1 c2s=$2 comp=$3 i dom pid
	shift 3
	mkdir -p "$d/data/example%2etest/accounts" "$d/certs"
	for i in $(seq "${BP_FIRST:-1}" "${BP_LAST:-$E2E_CONNS}"); do
		printf 'return { ["password"] = "pw"; };\n' \
		    >"$d/data/example%2etest/accounts/${BP_USER:-b}$i.dat"
	done
	cat >"$d/prosody.cfg.lua" <<CFG
-- Bench-only Prosody config (no TLS, loopback only); written by tests/bench/run.sh
run_as_root = true
pidfile = "$d/prosody.pid"
data_path = "$d/data"
log = { { levels = { min = "info" }, to = "file", filename = "$d/prosody.log" } }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { $c2s }
component_ports = { $comp }
component_interfaces = { "127.0.0.1" }
s2s_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "saslauth"; "posix"; }
modules_disabled = { "s2s"; "tls"; "offline"; }
authentication = "internal_plain"
storage = "internal"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
VirtualHost "example.test"
CFG
	for dom in "$@"; do
		printf 'Component "%s"\n    component_secret = "%s"\n' "$dom" \
		    "$VCOMP_BENCH_SECRET" >>"$d/prosody.cfg.lua"
	done
	prosody --config "$d/prosody.cfg.lua" -F >"$d/stdout.log" 2>&1 &
	pid=$!
	BP_PID=$pid
	it_track_prosody "$d"
	it_wait_port "$c2s" 10 "$pid" && it_wait_port "$comp" 10 "$pid"
}

# e2e_measure PATH PORT DOMAIN MODE ARG: one xmppc run; its figures in
# E2E_RATE E2E_LOST E2E_ERR E2E_P50 E2E_P99 E2E_P999.
e2e_measure() {
	local out
	out=$("$B/bench/xmppc" "$2" b "$E2E_CONNS" "$3" "$4" "$5" "$E2E_SECS" \
	    "$E2E_WARM" 2>>"$W/e2e/xmppc.err") ||
		{ note "xmppc ($1 $4) failed: $(tail -n 3 "$W/e2e/xmppc.err")"; return 1; }
	echo "$1 $4 $5: $out" >>"$W/e2e/xmppc.log"
	set -- $out
	E2E_RATE=$2 E2E_LOST=$8 E2E_ERR=${10} E2E_P50=${12} E2E_P99=${14} E2E_P999=${16}
}

E2E_CONNS=8 E2E_WINDOW=16 E2E_SECS=${E2E_SECS:-3} E2E_WARM=0.5
if ! want 4; then
	:
elif [ -n "$QUICK" ]; then
	note "4. real server end to end: SKIPPED in quick mode (two Prosody" \
	    "servers and about a minute of traffic); run make bench"
elif ! command -v prosody >/dev/null 2>&1; then
	note "4. real server end to end: SKIPPED, prosody is not installed (tools/deps.sh)"
else
	note "4. real server end to end: 2 Prosody, $E2E_CONNS clients, ${E2E_SECS}s per figure, x $RUNS"
	mkdir -p "$W/e2e/bin"
	C1=$(port) S1=$(port) C2=$(port) S2=$(port) P1=$(port) P2=$(port) L1=$(port)
	cat >"$W/e2e/spec.yaml" <<EOF
# Section 4: node1 is the component's home, node2 runs it as virtual.
version: 1
cluster:
  secret: {env: VCOMP_BENCH_CLUSTER_SECRET}
nodes:
  node1:
    server: 127.0.0.1:$S1
    peer: 127.0.0.1:$P1
    listen: 127.0.0.1:$L1
  node2:
    server: 127.0.0.1:$S2
    peer: 127.0.0.1:$P2
components:
  muc.example.test:
    home: node1
    secret: {env: VCOMP_BENCH_SECRET}
    category: conference
    type: text
    features: [http://jabber.org/protocol/muc]
limits:
  keepalive: 600s
  peer-timeout: 1800s
EOF
	if ! (cd "$W/e2e" && "$VCOMPC" --all -d bin spec.yaml) >"$W/e2e/build.log" 2>&1; then
		cat "$W/e2e/build.log" >&2
		note "4. SKIPPED: vcompc could not build the two nodes"
	elif ! bench_prosody "$W/e2e/prosody1" "$C1" "$S1" muc.example.test direct.example.test ||
	    ! bench_prosody "$W/e2e/prosody2" "$C2" "$S2" muc.example.test; then
		note "4. SKIPPED: Prosody did not start (see $W/e2e/prosody*/prosody.log)"
	else
		for n in 1 2; do
			"$W/e2e/bin/vcomp-node$n" -q 2>"$W/e2e/vcomp-node$n.log" &
			it_track $!
		done
		"$B/bench/echocomp" "$L1" muc.example.test "$S1" direct.example.test \
		    2>"$W/e2e/echocomp.log" &
		it_track $!
		it_wait_log "$W/e2e/echocomp.log" ready 15 ||
			note "echocomp did not connect: $(cat "$W/e2e/echocomp.log")"
		# The peer link comes up on its own schedule: probe until a
		# message comes back through the virtual path.
		ok= out=
		for i in $(seq 1 20); do
			out=$("$B/bench/xmppc" "$C2" b 1 muc.example.test rate 50 0.2 0 \
			    2>>"$W/e2e/xmppc.err")
			case $out in "rate "*" back 0 "*|"") sleep 0.3 ;; *) ok=1; break ;; esac
		done
		if [ -z "$ok" ]; then
			note "4. SKIPPED: nothing came back through the virtual path ($out)"
		else
			for r in $(seq 1 "$RUNS"); do
				e2e_measure direct "$C1" direct.example.test sat "$E2E_WINDOW" || break
				dr=$E2E_RATE dp50=$E2E_P50 dp99=$E2E_P99
				e2e_measure virtual "$C2" muc.example.test sat "$E2E_WINDOW" || break
				{
				echo "R 4-end-to-end direct_msg_rate msg/s $dr - 0"
				echo "R 4-end-to-end virtual_msg_rate msg/s $E2E_RATE direct_msg_rate $dr"
				echo "R 4-end-to-end sat_virtual_p50 us $E2E_P50 sat_direct_p50_us $dp50"
				echo "R 4-end-to-end sat_virtual_p99 us $E2E_P99 sat_direct_p99_us $dp99"
				echo "R 4-end-to-end sat_virtual_errors stanzas $E2E_ERR - 0"
				} >>"$RAW"
				# Latency at the same offered rate on both paths.
				lr=$(awk -v d="$dr" 'BEGIN { printf "%.0f", d / 2 }')
				e2e_measure direct "$C1" direct.example.test rate "$lr" || break
				dp50=$E2E_P50 dp99=$E2E_P99 dp999=$E2E_P999 dl=$E2E_LOST
				e2e_measure virtual "$C2" muc.example.test rate "$lr" || break
				{
				echo "R 4-end-to-end half_load msg/s $lr direct_msg_rate $dr"
				echo "R 4-end-to-end half_virtual_p50 us $E2E_P50 direct_p50_us $dp50"
				echo "R 4-end-to-end half_virtual_p99 us $E2E_P99 direct_p99_us $dp99"
				if [ "$E2E_P999" != -1.0 ] && [ "$dp999" != -1.0 ]; then
					echo "R 4-end-to-end half_virtual_p99.9 us $E2E_P999 direct_p99.9_us $dp999"
				fi
				echo "R 4-end-to-end half_virtual_lost stanzas $E2E_LOST direct_lost $dl"
				} >>"$RAW"
			done
		fi
		cp "$W/e2e/xmppc.log" "$OUT/e2e-runs.txt" 2>/dev/null
	fi
fi

# ---------------------------------------------------------- 7. fan-out
# A room of FAN_N occupants served by tests/bench/mucc.c (a C component
# that fans each groupchat message out to every occupant), two ways:
#
#   virtual: mucc homed on vcomp-node1; the occupants spread evenly over
#            the Prosody servers of node1..node4, each with its vcomp
#            node; node2..4's occupants get their copies over the peer
#            links, all through vcomp-node1
#   direct:  the same mucc process connected straight to ProsodyD, which
#            serves all FAN_N occupants
#
# One talker per room; tests/bench/fanout.c measures messages/s delivered
# to every occupant (closed loop) and the latency to the last occupant,
# then the latency at half the direct rate on both, and samples the CPU
# of every process during the closed loops (which one saturates first).
FAN_NODES=4
if [ -n "$QUICK" ]; then
	FAN_N=${FAN_N:-200} FAN_RUNS=${FAN_RUNS:-1} FAN_SECS=${FAN_SECS:-1} FAN_WARM=${FAN_WARM:-0.5}
else
	FAN_N=${FAN_N:-1000} FAN_RUNS=${FAN_RUNS:-3} FAN_SECS=${FAN_SECS:-3} FAN_WARM=${FAN_WARM:-1}
fi
FAN_WINDOW=${FAN_WINDOW:-4}
if ! want 7; then
	:
elif ! command -v prosody >/dev/null 2>&1; then
	note "7. fan-out: SKIPPED, prosody is not installed (tools/deps.sh)"
else
	note "7. fan-out: a room of $FAN_N over $FAN_NODES Prosody + vcomp nodes vs one Prosody," \
	    "${FAN_SECS}s per figure, x $FAN_RUNS"
	F=$W/fanout
	mkdir -p "$F/bin"
	per=$((FAN_N / FAN_NODES))
	{
		echo "# Section 7: node1 is the room's home; node2..4 run it as virtual."
		echo "version: 1"
		echo "cluster:"
		echo "  secret: {env: VCOMP_BENCH_CLUSTER_SECRET}"
		echo "nodes:"
	} >"$F/spec.yaml"
	vspec= pids=
	FL=$(port)
	for k in $(seq 1 "$FAN_NODES"); do
		eval "FC$k=\$(port) FS$k=\$(port) FP$k=\$(port)"
		eval "c=\$FC$k s=\$FS$k p=\$FP$k"
		printf '  node%s:\n    server: 127.0.0.1:%s\n    peer: 127.0.0.1:%s\n' \
		    "$k" "$s" "$p" >>"$F/spec.yaml"
		[ "$k" = 1 ] && echo "    listen: 127.0.0.1:$FL" >>"$F/spec.yaml"
		vspec=$vspec${vspec:+,}$c:$per
	done
	cat >>"$F/spec.yaml" <<EOF
components:
  muc.example.test:
    home: node1
    secret: {env: VCOMP_BENCH_SECRET}
    category: conference
    type: text
    features: [http://jabber.org/protocol/muc]
limits:
  keepalive: 600s
  peer-timeout: 1800s
EOF
	CD=$(port) SD=$(port)
	ok=1
	if ! (cd "$F" && "$VCOMPC" --all -d bin spec.yaml) >"$F/build.log" 2>&1; then
		cat "$F/build.log" >&2
		note "7. SKIPPED: vcompc could not build the nodes"
		ok=
	fi
	for k in $(seq 1 "$FAN_NODES"); do
		[ -n "$ok" ] || break
		eval "c=\$FC$k s=\$FS$k"
		BP_USER=f BP_FIRST=$(( (k - 1) * per + 1 )) BP_LAST=$((k * per)) \
		    bench_prosody "$F/prosody$k" "$c" "$s" muc.example.test || ok=
		pids="$pids prosody$k=$BP_PID"
	done
	[ -n "$ok" ] && { BP_USER=f BP_FIRST=1 BP_LAST=$((per * FAN_NODES)) \
	    bench_prosody "$F/prosodyD" "$CD" "$SD" muc.example.test || ok=; }
	pids="$pids prosodyD=$BP_PID"
	if [ -z "$ok" ]; then
		note "7. SKIPPED: Prosody did not start (see $F/prosody*/prosody.log)"
	else
		for k in $(seq 1 "$FAN_NODES"); do
			"$F/bin/vcomp-node$k" -q 2>"$F/vcomp-node$k.log" &
			it_track $!
			pids="$pids vcomp-node$k=$!"
		done
		"$B/bench/mucc" "$FL" muc.example.test "$SD" muc.example.test \
		    2>"$F/mucc.log" &
		it_track $!
		pids="$pids mucc=$!"
		if ! it_wait_log "$F/mucc.log" ready 15; then
			note "7. SKIPPED: mucc did not connect: $(cat "$F/mucc.log")"
		else
			"$B/bench/fanout" "$FAN_RUNS" "$FAN_SECS" "$FAN_WARM" \
			    "$FAN_WINDOW" room@muc.example.test "$CD:$((per * FAN_NODES))" \
			    room@muc.example.test "$vspec" $pids \
			    >"$F/fanout.out" 2>"$F/fanout.err" &
			lg=$!
			it_track "$lg"
			it_wait_exit "$lg" 600
			if [ "$IT_RC" = 0 ]; then
				cat "$F/fanout.out" >>"$RAW"
			else
				tail -n 20 "$F/fanout.err" >&2
				note "7. fan-out failed (see $F)"
			fi
			cp "$F/fanout.err" "$OUT/fanout-runs.txt" 2>/dev/null
		fi
	fi
fi

# ----------------------------------------------------------- 5. routes
if want 5; then
	note "5. return routes: $ROUTES_N entries x $RUNS"
	"$B/bench/routes_mem" "$ROUTES_N" "$RUNS" >>"$RAW" 2>"$W/routes.err" ||
		{ cat "$W/routes.err" >&2; fail "routes_mem failed"; }
fi
if want 5 && [ -n "$CLUSTER" ]; then
	# The same table in vcomp-H, filled through the live virtual path of
	# section 3 (fresh runtimes): ROUTES_LIVE_N messages from as many
	# distinct full JIDs; vcomp-H's own count and its RSS growth.
	note "5. return routes through the virtual path: $ROUTES_LIVE_N distinct JIDs"
	"$W/cluster/vcomp-v" -q 2>"$W/v2.log" &
	v=$!
	it_track "$v"
	"$W/cluster/vcomp-h" -q 2>"$W/h2.log" &
	h=$!
	it_track "$h"
	"$B/bench/loadgen" routes "$VS" "$HL" "$HS" "$h" "$HST" "$ROUTES_LIVE_N" \
	    >"$W/routes-live.out" 2>"$W/routes-live.err" &
	lg=$!
	it_track "$lg"
	it_wait_exit "$lg" 300
	if [ "$IT_RC" = 0 ]; then
		cat "$W/routes-live.out" >>"$RAW"
	else
		cat "$W/routes-live.err" "$W/v2.log" "$W/h2.log" >&2
		note "live routes bench failed"
	fi
	it_kill "$v"
	it_kill "$h"
fi

# ------------------------------------------------------------- 6. size
if want 6; then
	note "6. size and vcompc scaling"
	size=$(stat -c %s "$W/vcomp-n1")
	# The budget was 1.5 MiB until the peer links' TLS (mbedTLS, issue
	# 13) raised it to 2 MiB.
	echo "R 6-size binary_stripped B $size budget_B $((2 * 1024 * 1024))" >>"$RAW"
	if [ ! -x "$VCOMPC" ] || [ ! -x /usr/bin/time ] || [ ! -x /usr/bin/python3 ]; then
		note "6. vcompc scaling: SKIPPED (needs vcompc, /usr/bin/time, /usr/bin/python3)"
		RUNS6=0
	else
		RUNS6=$RUNS
	fi
	for r in $(seq 1 "$RUNS6"); do
		for n in 1000 10000; do
			[ -f "$W/spec-$n.yaml" ] ||
				/usr/bin/python3 "$root/tests/bench/genspec.py" yaml $n 16 >"$W/spec-$n.yaml"
			rm -rf "$W/gen-$n" && mkdir -p "$W/gen-$n"
			/usr/bin/time -f '%e %M' -o "$W/time-$n" "$VCOMPC" --all -c -d \
			    "$W/gen-$n" "$W/spec-$n.yaml" 2>"$W/vcompc-$n.err" ||
				{ cat "$W/vcompc-$n.err" >&2; fail "vcompc on $n components failed"; }
		done
		read -r s1 k1 <"$W/time-1000"
		read -r s2 k2 <"$W/time-10000"
		# Baseline: the same spec generator at 1 000 components, times 10 (linear).
		echo "R 6-size vcompc_10000_seconds s $s2 10x_vcompc_1000_s $(awk -v s="$s1" 'BEGIN { print s * 10 }')" >>"$RAW"
		echo "R 6-size vcompc_10000_peak_rss KiB $k2 vcompc_1000_KiB $k1" >>"$RAW"
	done
fi

# ------------------------------------------------------------- report
{
	echo "# vcomp bench ($( [ -n "$QUICK" ] && echo quick || echo full ), $RUNS runs) $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "# machine: nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), kernel $(uname -r)"
} >"$OUT/table.txt"
# report.py needs any python3 (Debian's where there is one).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || PY=
if [ -z "$PY" ]; then
	note "no python3: the table is not made; the raw figures are in $RAW"
	cp "$RAW" "$OUT/table.txt"
else
	"$PY" "$root/tests/bench/report.py" "$RAW" "$OUT/results.csv" >>"$OUT/table.txt" ||
		fail "report failed"
fi
cat "$OUT/table.txt"
if [ -f "$OUT/profile.txt" ]; then
	echo
	echo "hot path of (2), callgrind self cost, top functions ($OUT/profile.txt):"
	awk '/^Ir/ { on = 1; next } on && NF' "$OUT/profile.txt" | head -n 15
fi
echo
echo "bench: table $OUT/table.txt, CSV $OUT/results.csv, raw $RAW"
