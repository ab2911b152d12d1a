# lib.sh — shell helpers for the integration tests (source it from bash).
#
# Everything runs on 127.0.0.1 with ports picked at run time.  Every process
# a test starts is registered with it_track and killed by pid, never by
# name, from the EXIT trap that it_init installs; Prosody instances are
# registered with it_track_prosody and stopped with prosody-down.sh.
#
# Variables set by it_init: IT_DIR (this folder), IT_WORK (a fresh temporary
# directory, removed at exit unless IT_KEEP=1 or a check failed).
# Counters: IT_PASS, IT_FAIL, updated by it_pass / it_fail.

IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_PY=/usr/bin/python3          # Debian's: the one that sees python3-slixmpp
IT_PIDS=()
IT_PROSODY_DIRS=()
IT_PASS=0
IT_FAIL=0
IT_PORTS_TAKEN=" "

it_log() { echo "[$(date +%H:%M:%S.%3N)] $*" >&2; }

it_pass() {
	IT_PASS=$((IT_PASS + 1))
	echo "PASS: $*"
}

# it_fail NAME [EVIDENCE-FILE...]: count a failure and show the tail of
# each evidence file, so a failing CI log says why without a rerun.
it_fail() {
	local name=$1 f
	shift
	IT_FAIL=$((IT_FAIL + 1))
	echo "FAIL: $name"
	for f in "$@"; do
		[ -f "$f" ] || continue
		echo "  --- last lines of $f"
		tail -n 15 "$f" | sed 's/^/  | /'
	done
}

# it_check NAME COMMAND...: PASS if COMMAND succeeds, else FAIL.
it_check() {
	local name=$1
	shift
	if "$@"; then it_pass "$name"; else it_fail "$name"; fi
}

# it_free_port: print a TCP port on 127.0.0.1 that nobody uses now and
# that this run has not handed out before.  Chosen at random BELOW the
# kernel's ephemeral range (net.ipv4.ip_local_port_range): a test binds
# some of its ports only minutes later (a listener added by a rolled
# change), and a port from the ephemeral range may by then be the local
# port of one of the many outgoing connections (EADDRINUSE).  Random, so
# parallel test runs rarely collide; the bind test (without SO_REUSEADDR,
# so also refused while a connection on it lingers in TIME_WAIT) makes
# sure it is free now.  Falls back to the kernel's choice (port 0) when
# the range leaves no room below it.
it_free_port() {
	local p i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		p=$("$IT_PY" -c 'import random, socket
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    lo = 0
for _ in range(200):
    port = random.randint(10000, lo - 1) if lo > 12000 else 0
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
else:
    raise SystemExit(1)') || return 1
		case $IT_PORTS_TAKEN in *" $p "*) continue ;; esac
		IT_PORTS_TAKEN="$IT_PORTS_TAKEN$p "
		echo "$p"
		return 0
	done
	return 1
}

# it_node_ports N...: for each node number N, free ports in the global
# associative arrays C2S[N], SERVER[N], LISTEN[N], PEERP[N], STATS[N]
# (c2s, component port of its server, home listener, peer, stats).
# Returns 1 when the ports run out.
it_node_ports() {
	local n
	declare -gA C2S SERVER LISTEN PEERP STATS
	for n in "$@"; do
		C2S[$n]=$(it_free_port) && SERVER[$n]=$(it_free_port) &&
		    LISTEN[$n]=$(it_free_port) && PEERP[$n]=$(it_free_port) &&
		    STATS[$n]=$(it_free_port) || return 1
	done
}

# it_comp_start PORT: a new life of the echoing test component
# (integration/component.py) at the home listener on PORT, with a log of
# its own, $IT_WORK/component-K.log (K = its life, from 0), appended to the
# global array COMP_LOGS; its pid in COMP_PID.  Waits for its session.
it_comp_start() {
	local log=$IT_WORK/component-${#COMP_LOGS[@]}.log
	COMP_LOGS+=("$log")
	it_wait_port "$1" 8 || return 1
	"$IT_PY" "$IT_DIR/component.py" run --port "$1" --secret "$VCOMP_IT_SECRET" \
	    --log "$log" --lifetime 300 >>"$IT_WORK/component.out" 2>&1 &
	COMP_PID=$!
	it_track "$COMP_PID"
	it_wait_count "$log" SESSION-START 1 8
}

# it_port_open PORT: does something accept on 127.0.0.1:PORT?
it_port_open() {
	(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null
}

# it_wait_port PORT [SECONDS [PID]]: wait until 127.0.0.1:PORT accepts;
# give up early when PID (the process that should listen) has died.
it_wait_port() {
	local port=$1 n=$(( ${2:-5} * 50 )) pid=${3:-} i=0
	while ! it_port_open "$port"; do
		i=$((i + 1))
		[ $i -gt $n ] && return 1
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.02
	done
}

# it_wait_log FILE REGEX [SECONDS]: wait until a line of FILE matches the
# extended regular expression.
it_wait_log() {
	local f=$1 re=$2 n=$(( ${3:-5} * 20 )) i=0
	until grep -Eq -- "$re" "$f" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $n ] && return 1
		sleep 0.05
	done
}

# it_wait_count FILE REGEX N [SECONDS]: wait until at least N lines match.
it_wait_count() {
	local f=$1 re=$2 want=$3 n=$(( ${4:-5} * 20 )) i=0 c
	while :; do
		c=$(grep -Ec -- "$re" "$f" 2>/dev/null)
		[ "${c:-0}" -ge "$want" ] && return 0
		i=$((i + 1))
		[ $i -gt $n ] && return 1
		sleep 0.05
	done
}

# it_wait_exit PID SECONDS: wait for a child of this shell to exit; set
# IT_RC to its exit status.  Returns 1 (IT_RC empty) if it is still
# running after SECONDS.
it_wait_exit() {
	local pid=$1 n=$(( $2 * 20 )) i=0
	IT_RC=
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $n ] && return 1
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	IT_RC=$?
	it_untrack "$pid"
	return 0
}

it_track() { IT_PIDS+=("$1"); }

it_untrack() {
	local i
	for i in "${!IT_PIDS[@]}"; do
		[ "${IT_PIDS[$i]}" = "$1" ] && unset 'IT_PIDS[i]'
	done
}

it_track_prosody() { IT_PROSODY_DIRS+=("$1"); }

# it_kill PID: SIGTERM, wait up to 3 s, then SIGKILL; reap it if it is our
# child.  Safe to call for a pid that already exited.
it_kill() {
	local pid=$1 i=0
	if kill "$pid" 2>/dev/null; then
		while kill -0 "$pid" 2>/dev/null; do
			i=$((i + 1))
			if [ $i -gt 60 ]; then
				kill -9 "$pid" 2>/dev/null
				break
			fi
			sleep 0.05
		done
	fi
	wait "$pid" 2>/dev/null
	it_untrack "$pid"
	return 0
}

it_cleanup() {
	local pid d
	for pid in "${IT_PIDS[@]}"; do
		it_kill "$pid"
	done
	for d in "${IT_PROSODY_DIRS[@]}"; do
		bash "$IT_DIR/prosody-down.sh" "$d"
	done
	if [ -n "${IT_WORK:-}" ] && [ -d "$IT_WORK" ]; then
		if [ "${IT_KEEP:-0}" = 1 ] || [ "$IT_FAIL" -gt 0 ]; then
			echo "integration: logs kept in $IT_WORK" >&2
		else
			rm -rf "$IT_WORK"
		fi
	fi
}

# it_skip REASON: the test cannot run here; say so loudly, in the form
# make check counts ("0 passed, 0 failed"), and exit 0.
it_skip() {
	echo "SKIPPED: $*"
	echo "0 passed, 0 failed"
	exit 0
}

# it_require WHAT TOOL...: skip the test named WHAT (it_skip) unless every
# TOOL is there.  A TOOL is a command name, or python3-slixmpp for the
# module $IT_PY must import.  tools/deps.sh installs them all (make check
# runs it first); without them there is nothing real to test against.
it_require() {
	local what=$1 t missing=
	shift
	for t in "$@"; do
		case $t in
		python3-slixmpp)
			"$IT_PY" -c 'import slixmpp' 2>/dev/null ;;
		*)
			command -v "$t" >/dev/null 2>&1 ;;
		esac || missing="$missing $t"
	done
	[ -z "$missing" ] ||
	    it_skip "$what: missing$missing (run tools/deps.sh)"
}

# it_node_env: the environment of a test that builds node binaries with
# vcompc from the build tree: VCOMPC and B must be set (the script exits
# otherwise), SAN defaults to empty, CC to cc, and the runtime comes from
# beside $VCOMPC, never from an installed VCOMP_LIBDIR.
it_node_env() {
	: "${VCOMPC:?VCOMPC must name the vcompc binary}"
	: "${B:?B must name the build directory}"
	SAN=${SAN:-}
	export CC=${CC:-cc}
	unset VCOMP_LIBDIR
}

# it_prosody_node N NAME: start Prosody node N in $W/prosodyN on ports
# C2S[N] and SERVER[N] with $VCOMP_IT_SECRET (prosody-up.sh), track it,
# and on failure count the check NAME as failed and end the test (nothing
# after it could run).
it_prosody_node() {
	local n=$1 name=$2 d=$W/prosody$1
	if bash "$IT_DIR/prosody-up.sh" "$d" "${C2S[$n]}" "${SERVER[$n]}" \
	    "$VCOMP_IT_SECRET" >/dev/null 2>"$W/prosody-up$n.log"; then
		it_track_prosody "$d"
	else
		it_fail "$name" "$W/prosody-up$n.log" "$d/prosody.log"
		it_summary
		exit 1
	fi
}

# The line Prosody logs when a component authenticates.
IT_AUTH_RE='External component successfully authenticated'
# The node runtimes an integration test started, by node number.
declare -A RT_PID

# it_rt_start N [ENV=VALUE...]: start $W/bin/vcomp-nodeN -v (appending to
# $W/runtime-nodeN.log, pid in RT_PID[N]) and succeed once nodeN's
# Prosody ($W/prosodyN) logs one more component authentication and the
# runtime still runs.
it_rt_start() {
	local n=$1 before
	shift
	before=$(grep -c "$IT_AUTH_RE" "$W/prosody$n/prosody.log" 2>/dev/null)
	echo "=== start $(date +%T.%N)" >>"$W/runtime-node$n.log"
	env "$@" "$W/bin/vcomp-node$n" -v >>"$W/runtime-node$n.log" 2>&1 &
	RT_PID[$n]=$!
	it_track "${RT_PID[$n]}"
	it_wait_count "$W/prosody$n/prosody.log" "$IT_AUTH_RE" \
	    $(( ${before:-0} + 1 )) 6 && kill -0 "${RT_PID[$n]}" 2>/dev/null
}

# it_san_link: under SAN=1, make vcompc link node binaries dynamically
# with ASan+UBSan (static linking and the sanitizers do not mix); the
# variable names are those of compiler/main.c (vcompc --help,
# "Environment").
it_san_link() {
	[ "${SAN:-}" = 1 ] || return 0
	export VCOMP_STATIC=0
	export VCOMP_EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
}

# it_san_reports FILE...: does any FILE hold a sanitizer report?
it_san_reports() {
	grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$@"
}

# it_init NAME: make the work directory and install the cleanup trap.
it_init() {
	IT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/vcomp-$1.XXXXXX")
	trap it_cleanup EXIT
	trap 'exit 130' INT TERM
}

# it_summary: the final line make check looks for; exit status 1 on failure.
it_summary() {
	echo "$IT_PASS passed, $IT_FAIL failed"
	[ "$IT_FAIL" -eq 0 ]
}

# it_metrics PORT: the Prometheus text a runtime's stats listener on
# 127.0.0.1:PORT serves at /metrics (GET over HTTP/1.1), on stdout.
it_metrics() {
	curl -sS --max-time 3 "http://127.0.0.1:$1/metrics"
}

# it_metric FILE NAME [LABELS]: the sum of the samples of metric NAME in
# FILE (it_metrics output) whose labels contain the text LABELS (e.g.
# 'component="muc.example.test"'); empty when there is none.
it_metric() {
	awk -v n="$2" -v m="${3:-}" '
	    /^#/ { next }
	    { k = $1; i = index(k, "{"); name = i ? substr(k, 1, i - 1) : k }
	    name == n && index(k, m) > 0 { s += $2; found = 1 }
	    END { if (found) printf "%.15g\n", s }' "$1"
}
