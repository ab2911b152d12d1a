#!/bin/bash
# check-ejabberd.sh — `servers: clustered` against a real server cluster
# (issue 10): two nodes of one ejabberd cluster (Debian's ejabberd, same
# domain example.test, joined with join_cluster), the two node binaries
# from tests/integration/ejabberd.yaml.in, the real slixmpp component
# (tests/integration/component.py, echoing) homed on node1, and one user
# per ejabberd node — alice on node1, bob on node2 — each sending
# sequence-numbered messages (tests/integration/flood.py) that the
# component echoes back.
#
# For each step, one line per user:
#   STEP name user: sent N delivered D bounced B duplicated X lost L
#                   replies-lost R replies-dup E kicks K wait W s outage G s
# where delivered/duplicated count the user's messages at the component,
# bounced the errors the user got, lost what neither arrived nor came back,
# replies-lost the echoes of delivered messages that never reached the
# user, replies-dup the echoes the user got twice (a reply given back and
# sent again: at least once), kicks the echoes that came back to the
# component as errors (a MUC would drop the occupant; asserted 0), wait the longest a user waited for the first answer (echo or
# error) to one of its messages, outage the longest gap between two
# arrivals at the component.  The steps and what is asserted:
#   1. both runtimes up: everything delivered and echoed, nothing bounced,
#      and bob's messages went through vcomp-node2 (its to_peer counter);
#   2. SIGTERM of vcomp-node2 (the virtual node) mid-stream: it drains
#      and unregisters, and ejabberd routes node2's users to node1's
#      registration — lost 0, bounced 0, every echo back, wait < 2 s, and
#      a fresh round trip from bob on node2 once it is gone;
#   3. vcomp-node2 restarted: it registers again (a home is reachable) and
#      bob's traffic goes back through it;
#   4. SIGTERM of vcomp-node1 (the home, the only one): vcomp-node2 sees
#      no home and unregisters, the home bounces what still reaches it,
#      and with no registration left ejabberd answers every user at once
#      (forbidden: the test turns s2s off) — every message delivered or
#      bounced, wait < 2 s (not queue-age), except in the closing-handshake
#      windows (the 0.1 s before each registration closed; docs/cluster.md,
#      "Server kinds"); then fresh messages from both nodes get the error
#      within a second;
#   5. vcomp-node1 and the component restarted: vcomp-node2 registers
#      again and both users reach the component.
#
# The ejabberd cluster is set up as in the project's notes on test
# servers: ejabberdctl runs as root (it su's to user ejabberd, so the
# work directory is made traversable and given to that user) with
# --config-dir/--spool per node, a private epmd on a free port that this
# script starts and stops by pid, readiness by polling the c2s port, and
# node2 joins node1 with join_cluster.  Every process is stopped by pid:
# the ejabberd VMs (ejabberdctl stop, then their pid files' pids), epmd,
# the runtimes, the component and the clients.  Takes about 60 s.
# IT_KEEP=1 keeps the work directory (always kept on failure).
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "ejabberd cluster test" ejabberdctl epmd python3-slixmpp
# ejabberdctl runs only as root (and then as user ejabberd) or as ejabberd.
[ "$(id -u)" = 0 ] || [ "$(id -un)" = ejabberd ] ||
    it_skip "ejabberd cluster test: ejabberdctl needs root or user ejabberd"
id ejabberd >/dev/null 2>&1 ||
    it_skip "ejabberd cluster test: no user ejabberd (Debian's ejabberd package)"

it_init ejabberd
W=$IT_WORK
# mktemp -d makes it 0700: user ejabberd could not reach its spool.
chmod 755 "$W"
CLIENT="$IT_PY $IT_DIR/client.py"
FLOOD="$IT_PY $IT_DIR/flood.py"
DOMAIN=muc.example.test
RATE=${IT_EJ_RATE:-100}      # per user
SECS=${IT_EJ_SECS:-5}        # of sending per step
MAX_WAIT=2                   # seconds; queue-age is 5 s

echo "ejabberd: work dir and logs in $W (kept on failure)"

it_node_ports 1 2 || { echo "FAIL: no free ports"; exit 1; }
EPMD_PORT=$(it_free_port) || { echo "FAIL: no free ports"; exit 1; }
export VCOMP_IT_SECRET="it-comp-$RANDOM$RANDOM$$"
export VCOMP_IT_CLUSTER_SECRET="it-cluster-$RANDOM$RANDOM$$"
COOKIE="it-cookie-$RANDOM$RANDOM$$"

# ------------------------------------------------------------ ejabberd

# ej_mknode N: node N's configuration in $W/ejN (ejabberdctl.cfg is a
# shell file ejabberdctl sources; ejabberd.yml the server's).
ej_mknode() {
	local n=$1 d=$W/ej$1
	mkdir -p "$d/spool" "$d/logs"
	# Without it every ejabberdctl call reports "inetrc not found".
	cp /etc/ejabberd/inetrc "$d/inetrc"
	cat >"$d/ejabberdctl.cfg" <<-CFG
	ERLANG_NODE=ejabberd$n@localhost
	# A fixed cookie (no ~/.erlang.cookie), distribution on loopback only.
	ERL_OPTIONS="-setcookie $COOKIE -kernel inet_dist_use_interface {127,0,0,1}"
	ERL_EPMD_ADDRESS=127.0.0.1
	# This test's own epmd: the cluster is invisible to any other.
	export ERL_EPMD_PORT=$EPMD_PORT
	EJABBERD_PID_PATH=$d/ejabberd.pid
	EJABBERD_BYPASS_WARNINGS=true
	CFG
	cat >"$d/ejabberd.yml" <<-CFG
	# Test-only ejabberd node: no TLS, loopback only.
	hosts:
	  - example.test
	loglevel: info
	log_rotate_count: 0
	certfiles: []
	listen:
	  -
	    port: ${C2S[$n]}
	    ip: "127.0.0.1"
	    module: ejabberd_c2s
	    starttls: false
	    starttls_required: false
	    backlog: 1024
	  -
	    port: ${SERVER[$n]}
	    ip: "127.0.0.1"
	    module: ejabberd_service
	    backlog: 1024
	    hosts:
	      $DOMAIN:
	        password: "$VCOMP_IT_SECRET"
	auth_method: internal
	auth_password_format: plain
	acl:
	  local:
	    user_regexp: ""
	access_rules:
	  local:
	    allow: local
	  c2s:
	    allow: all
	api_permissions:
	  "console commands":
	    from:
	      - ejabberd_ctl
	    who: all
	    what: "*"
	modules:
	  mod_disco: {}
	  mod_roster: {}
	  mod_ping: {}
	# No s2s: with no component connected anywhere ejabberd would try
	# s2s for the component's domain, answer after a DNS lookup that
	# depends on the resolver, and lose a stanza when both nodes start
	# that s2s connection at once (docs/cluster.md, "Server kinds").
	s2s_access: none
	CFG
	# ejabberdctl run as root does "su ejabberd" in the spool directory.
	chown -R ejabberd:ejabberd "$d"
}

# ej_ctl N ARGS...: ejabberdctl against node N (about 0.5 s a call: it
# boots a small Erlang VM).
ej_ctl() {
	local d=$W/ej$1
	shift
	ERL_EPMD_PORT=$EPMD_PORT ejabberdctl --config-dir "$d" \
	    --config "$d/ejabberd.yml" --ctl-config "$d/ejabberdctl.cfg" \
	    --logs "$d/logs" --spool "$d/spool" "$@"
}

declare -A EJ_JOB EJ_VM
# ej_start N: node N in the foreground of a background job; ready when
# its c2s port accepts.  EJ_VM[N] is the Erlang VM's pid (ejabberd's pid
# file), EJ_JOB[N] the ejabberdctl job's.
ej_start() {
	local n=$1 d=$W/ej$1 i
	ej_ctl "$n" foreground >"$d/foreground.out" 2>&1 &
	EJ_JOB[$n]=$!
	it_wait_port "${C2S[$n]}" 30 "${EJ_JOB[$n]}" || return 1
	for i in $(seq 50); do
		[ -s "$d/ejabberd.pid" ] && break
		sleep 0.1
	done
	EJ_VM[$n]=$(cat "$d/ejabberd.pid" 2>/dev/null)
	[ -n "${EJ_VM[$n]}" ]
}

# ej_down: stop both nodes and epmd, by pid.  The pid files are read
# first: ejabberd deletes its own while it stops, before the VM exits.
ej_down() {
	local n i vm
	for n in 2 1; do
		vm=${EJ_VM[$n]:-}
		[ -n "$vm" ] || continue
		ej_ctl "$n" stop >/dev/null 2>&1
		for i in $(seq 200); do
			kill -0 "$vm" 2>/dev/null || break
			sleep 0.05
		done
		if kill -0 "$vm" 2>/dev/null; then
			echo "ejabberd node$n (VM $vm) did not stop; SIGKILL" >&2
			kill -KILL "$vm" 2>/dev/null
		fi
		EJ_VM[$n]=
	done
	for n in 1 2; do
		[ -n "${EJ_JOB[$n]:-}" ] && it_kill "${EJ_JOB[$n]}"
		EJ_JOB[$n]=
	done
	[ -n "${EPMD_PID:-}" ] && it_kill "$EPMD_PID"
	EPMD_PID=
}
trap 'ej_down; it_cleanup' EXIT

# ------------------------------------------------------------ vcomp

# rt_start N REGEX: start $W/bin/vcomp-nodeN -v (appending to
# $W/runtime-nodeN.log, pid in RT_PID[N]); succeed once its log has one
# more line matching REGEX and it still runs.
rt_start() {
	local n=$1 re=$2 before
	before=$(grep -Ec -- "$re" "$W/runtime-node$n.log" 2>/dev/null)
	echo "=== start $(date +%T.%N)" >>"$W/runtime-node$n.log"
	"$W/bin/vcomp-node$n" -v >>"$W/runtime-node$n.log" 2>&1 &
	RT_PID[$n]=$!
	it_track "${RT_PID[$n]}"
	it_wait_count "$W/runtime-node$n.log" "$re" $(( ${before:-0} + 1 )) 8 &&
	    kill -0 "${RT_PID[$n]}" 2>/dev/null
}
rt_term() {
	local n=$1
	kill -TERM "${RT_PID[$n]}" 2>/dev/null
	it_wait_exit "${RT_PID[$n]}" 12
	RT_RC=$IT_RC
	RT_PID[$n]=
}
UP_RE="upstream $DOMAIN: connected to"

COMP_PID=
COMP_LOGS=()
comp_start() { it_comp_start "${LISTEN[1]}"; }

# to_peer: how many stanzas vcomp-node2 has sent to node1 in its life.
to_peer() {
	it_metrics "${STATS[2]}" >"$W/stats-node2.txt" 2>&1
	it_metric "$W/stats-node2.txt" vcomp_component_to_peer_total \
	    "component=\"$DOMAIN\""
}

USERS=(alice bob)
NODE_OF=(1 2)
# step NAME ACTION: both users send RATE messages a second for SECS
# seconds; ACTION runs 1.5 s in; then, once every message is answered or
# 8 s have passed, the tallies.  Sets S_D[i], S_B, S_X, S_L, S_R, S_W
# (wait, s) per user i, and S_WAIT (the longest of both).
STEPS=0
step() {
	local name=$1 action=$2 count=$(( RATE * SECS )) i pids=() tag line
	local td tb tx tl tr tw to te tk deadline
	tag="s$(( ++STEPS ))"
	for i in 0 1; do
		$FLOOD send --port "${C2S[${NODE_OF[$i]}]}" --user "${USERS[$i]}" \
		    --resource flood --to "$DOMAIN" --count "$count" \
		    --rate "$RATE" --tag "$tag$i" --timeout $(( SECS + 20 )) \
		    >"$W/$tag-$i.log" 2>>"$W/client-stderr.log" &
		pids+=($!)
		it_track "$!"
	done
	for i in 0 1; do it_wait_log "$W/$tag-$i.log" READY 10; done
	sleep 1.5
	$action
	for i in 0 1; do it_wait_log "$W/$tag-$i.log" SEND-DONE $(( SECS + 10 )); done
	S_WAIT=0
	for i in 0 1; do
		local args=()
		for lg in "${COMP_LOGS[@]}"; do args+=(--component-log "$lg"); done
		# Every message answered (echo or error), or 8 s.
		deadline=$((SECONDS + 8))
		while :; do
			line=$($FLOOD tally "${args[@]}" --client-log "$W/$tag-$i.log" \
			    --tag "$tag$i" --count "$count")
			S_MISS[$i]=$(sed -n 's/^first lost: //p' <<<"$line")
			line=${line%%$'\n'*}
			eval "$(echo "$line" | tr ' ' '\n' | sed -n \
			    -e 's/^delivered=/td=/p' -e 's/^duplicates=/tx=/p' \
			    -e 's/^bounced=/tb=/p' -e 's/^lost=/tl=/p' \
			    -e 's/^false_bounces=/tf=/p' \
			    -e 's/^echo_lost=/tr=/p' -e 's/^wait_s=/tw=/p' \
			    -e 's/^echo_dups=/te=/p' -e 's/^kicks=/tk=/p' \
			    -e 's/^outage_s=/to=/p')"
			[ "$tl" = 0 ] && [ "$tr" = 0 ] && break
			[ $SECONDS -ge $deadline ] && break
			sleep 0.5
		done
		echo "  ${USERS[$i]} ($tag$i): $line" >>"$W/tallies.log"
		printf 'STEP %-28s %-5s sent %3d delivered %3d bounced %3d duplicated %d lost %d false-bounces %d replies-lost %d replies-dup %d kicks %d wait %s s outage %s s\n' \
		    "$name:" "${USERS[$i]}" "$count" "$td" "$tb" "$tx" "$tl" \
		    "$tf" "$tr" "$te" "$tk" "$tw" "$to" | tee -a "$W/steps.log"
		S_D[$i]=$td S_B[$i]=$tb S_X[$i]=$tx S_L[$i]=$tl S_R[$i]=$tr S_F[$i]=$tf
		S_W[$i]=$tw S_K[$i]=$tk
		S_WAIT=$(echo "$S_WAIT $tw" | awk '{ print ($2 > $1) ? $2 : $1 }')
	done
	for i in 0 1; do it_kill "${pids[$i]}"; done
}
declare -a S_D S_B S_X S_L S_R S_F S_W S_K S_MISS TAIL TAIL2
# clean I: user I's messages all delivered once and echoed, none bounced.
clean() {
	local i=$1 count=$(( RATE * SECS ))
	[ "${S_D[$i]}" = "$count" ] && [ "${S_B[$i]}" = 0 ] &&
	    [ "${S_X[$i]}" = 0 ] && [ "${S_L[$i]}" = 0 ] &&
	    [ "${S_R[$i]}" = 0 ] && [ "${S_K[$i]}" = 0 ] && [ "${S_F[$i]}" = 0 ]
}
prompt() { awk -v w="$S_WAIT" -v m="$MAX_WAIT" 'BEGIN { exit !(w < m) }'; }
both_clean() { clean 0 && clean 1 && prompt; }

act_none() { :; }
# What ejabberd answers, with s2s off, when no node registered the domain.
NOHOME_ERR=forbidden,remote-server-not-found

it_san_link
echo "== 0. a two-node ejabberd cluster, two runtimes, the component on node1"
ERL_EPMD_ADDRESS=127.0.0.1 epmd -port "$EPMD_PORT" >"$W/epmd.log" 2>&1 &
EPMD_PID=$!
it_wait_port "$EPMD_PORT" 5 "$EPMD_PID" ||
    { it_fail "0a epmd starts on port $EPMD_PORT" "$W/epmd.log"; it_summary; exit 1; }
ej_mknode 1
ej_mknode 2
t0=$(date +%s.%N)
if ! ej_start 1 || ! ej_start 2; then
	it_fail "0a two ejabberd nodes start" "$W/ej1/foreground.out" \
	    "$W/ej1/logs/ejabberd.log" "$W/ej2/foreground.out" "$W/ej2/logs/ejabberd.log"
	it_summary
	exit 1
fi
# node2 copies node1's database and restarts its listeners.
ej_ctl 2 join_cluster ejabberd1@localhost >"$W/join.log" 2>&1
sleep 0.3
it_wait_port "${C2S[2]}" 20 "${EJ_VM[2]}"
ej_ctl 1 register alice example.test alicepw >>"$W/join.log" 2>&1
ej_ctl 1 register bob example.test bobpw >>"$W/join.log" 2>&1
ej_ctl 2 list_cluster >"$W/cluster.log" 2>&1
t1=$(date +%s.%N)
echo "  cluster: $(grep -o 'ejabberd[12]@localhost' "$W/cluster.log" | sort -u | tr '\n' ' ')up in $(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }') s"
if grep -q ejabberd1@localhost "$W/cluster.log" &&
    grep -q ejabberd2@localhost "$W/cluster.log"; then
	it_pass "0a ejabberd1 and ejabberd2 form one cluster"
else
	it_fail "0a ejabberd1 and ejabberd2 form one cluster" "$W/join.log" \
	    "$W/cluster.log" "$W/ej2/logs/ejabberd.log"
	it_summary
	exit 1
fi

sed -e "s/@SERVER1@/${SERVER[1]}/" -e "s/@PEER1@/${PEERP[1]}/" \
    -e "s/@LISTEN1@/${LISTEN[1]}/" -e "s/@STATS1@/${STATS[1]}/" \
    -e "s/@SERVER2@/${SERVER[2]}/" -e "s/@PEER2@/${PEERP[2]}/" \
    -e "s/@LISTEN2@/${LISTEN[2]}/" -e "s/@STATS2@/${STATS[2]}/" \
    "$IT_DIR/ejabberd.yaml.in" >"$W/spec.yaml"
mkdir -p "$W/bin"
if ! (cd "$W" && "$VCOMPC" --all -d bin spec.yaml) >"$W/build.log" 2>&1; then
	it_fail "0b vcompc --all builds the node binaries" "$W/build.log"
	it_summary
	exit 1
fi
ok=1
rt_start 1 "$UP_RE" || ok=0
comp_start || ok=0
# vcomp-node2 registers once node1 says its real component is connected.
rt_start 2 "$UP_RE" || ok=0
if [ $ok = 1 ] && grep -q "a home is available; registering" "$W/runtime-node2.log"; then
	it_pass "0b both runtimes registered with their ejabberd node, component on node1"
else
	it_fail "0b both runtimes registered with their ejabberd node, component on node1" \
	    "$W/runtime-node1.log" "$W/runtime-node2.log" "$W/component.out"
	it_summary
	exit 1
fi

echo "== 1. round trips from users on both nodes"
for i in 0 1; do
	$CLIENT --port "${C2S[${NODE_OF[$i]}]}" --user "${USERS[$i]}" \
	    iq-roundtrip --to "$DOMAIN" --text "hello-${USERS[$i]}" \
	    >"$W/1-iq-$i.log" 2>&1
	it_check "1a iq round trip from ${USERS[$i]} on ejabberd node${NODE_OF[$i]}: $(tail -n 1 "$W/1-iq-$i.log")" \
	    grep -q '^IQ-RESULT ' "$W/1-iq-$i.log"
done
p0=$(to_peer)
step "both runtimes up" act_none
p1=$(to_peer)
echo "  vcomp-node2 sent ${p0:-?} -> ${p1:-?} stanzas to node1"
it_check "1b both users: all delivered and echoed, none bounced, no kicks, wait < ${MAX_WAIT} s ($S_WAIT s)" \
    both_clean
it_check "1c bob's messages went through vcomp-node2 (its to_peer grew by at least $(( RATE * SECS )))" \
    [ $(( ${p1:-0} - ${p0:-0} )) -ge $(( RATE * SECS )) ]

echo "== 2. SIGTERM of vcomp-node2 (virtual) mid-stream"
act_term2() { T_TERM=$(date +%s.%N); rt_term 2; T_GONE=$(date +%s.%N); }
step "SIGTERM vcomp-node2" act_term2
echo "  vcomp-node2 exited $(echo "$T_TERM $T_GONE" | awk '{ printf "%.2f", $2 - $1 }') s after SIGTERM with status ${RT_RC:-?}"
it_check "2a vcomp-node2 drained and exited 0" [ "${RT_RC:-x}" = 0 ]
it_check "2b both users across the stop: lost 0, bounced 0, duplicated 0, every echo back, no kicks, wait < ${MAX_WAIT} s ($S_WAIT s)" \
    both_clean
$CLIENT --port "${C2S[2]}" --user bob --resource after iq-roundtrip \
    --to "$DOMAIN" --text "bob-without-node2" >"$W/2-iq.log" 2>&1
it_check "2c with vcomp-node2 stopped bob on node2 reaches the component: $(tail -n 1 "$W/2-iq.log")" \
    grep -q '^IQ-RESULT ' "$W/2-iq.log"

echo "== 3. vcomp-node2 restarted"
rt_start 2 "$UP_RE"
it_check "3a vcomp-node2 registered again" kill -0 "${RT_PID[2]:-0}"
p0=$(to_peer)
step "vcomp-node2 back" act_none
p1=$(to_peer)
echo "  vcomp-node2 sent ${p0:-?} -> ${p1:-?} stanzas to node1"
it_check "3b both users: all delivered and echoed, none bounced, no kicks, wait < ${MAX_WAIT} s ($S_WAIT s)" \
    both_clean
it_check "3c bob's messages go through vcomp-node2 again" \
    [ $(( ${p1:-0} - ${p0:-0} )) -ge $(( RATE * SECS )) ]

echo "== 4. SIGTERM of vcomp-node1 (the only home) mid-stream"
act_term1() { rt_term 1; }
step "SIGTERM vcomp-node1 (home)" act_term1
it_check "4a vcomp-node1 drained and exited 0" [ "${RT_RC:-x}" = 0 ]
it_check "4b vcomp-node2 unregistered when the home went away" \
    grep -q "no home available; unregistering" "$W/runtime-node2.log"
# The closing-handshake windows (docs/cluster.md, "Server kinds"): a
# registration closes with </stream:stream> (XEP-0114 has no other way to
# unregister), and what ejabberd routed to it meanwhile is lost — inside
# ejabberd, which drops what reaches a component connection that is
# closing, or in the runtime, which reads it after its </stream:stream>
# and can neither forward it (no home) nor answer it (it logs a bounce
# that cannot be written).  Registrations close twice here: vcomp-node2's
# when the home says its real component is gone (from then on the home
# answers "shutting down": the user's first service-unavailable), and
# the home's own at the end of its drain (from then on ejabberd answers:
# the first forbidden).  Every loss must lie in the WIN messages (0.1 s
# of sending) before one of those two moments.
WIN=$(( RATE / 10 ))
in_windows() {
	awk -v w="$WIN" -v miss="$2" '
	    /^BOUNCE / {
		split($2, a, "-"); n = a[2] + 0
		if ($4 ~ /service-unavailable/ && (!b1 || n < b1)) b1 = n
		if ($4 ~ /forbidden|remote-server-not-found/ && (!b2 || n < b2)) b2 = n
	    }
	    END {
		k = split(miss, m, " ")
		for (j = 1; j <= k; j++) {
			x = m[j] + 0
			if (!((x >= b1 - w && x < b1) || (x >= b2 - w && x < b2)))
				exit 1
		}
	    }' "$W/s$STEPS-$1.log"
}
for i in 0 1; do
	# Of those, the ones a runtime read and logged.
	TAIL[$i]=$(awk -v t="'s$STEPS$i-" '
		/shutdown: drained/ { on = 1; n = 0; next }
		on && index($0, "bounced <message id=" t) { n++ }
		END { print n + 0 }' "$W/runtime-node1.log")
	TAIL2[$i]=$(grep -c "bounced <message id='s$STEPS$i-" "$W/runtime-node2.log")
	echo "  ${USERS[$i]}: lost ${S_L[$i]} (${S_MISS[$i]:-none}); logged by vcomp-node1 ${TAIL[$i]}, by vcomp-node2 ${TAIL2[$i]}, the rest dropped inside ejabberd"
done
home_stop_ok() {
	[ "${S_L[0]}" -le $(( 2 * WIN )) ] && [ "${S_L[1]}" -le $(( 2 * WIN )) ] &&
	    in_windows 0 "${S_MISS[0]:-}" && in_windows 1 "${S_MISS[1]:-}" &&
	    [ "${S_X[0]}" = 0 ] && [ "${S_X[1]}" = 0 ] &&
	    [ "${S_F[0]}" = 0 ] && [ "${S_F[1]}" = 0 ] &&
	    [ "${S_K[0]}" = 0 ] && [ "${S_K[1]}" = 0 ] && prompt
}
it_check "4c no kicks, no false bounce, every message delivered or bounced but in the closing-handshake windows (alice lost ${S_L[0]}, bob ${S_L[1]}), answers within ${MAX_WAIT} s ($S_WAIT s)" \
    home_stop_ok
for i in 0 1; do
	$CLIENT --port "${C2S[${NODE_OF[$i]}]}" --user "${USERS[$i]}" \
	    --resource nohome expect-error --to "$DOMAIN" --body nohome \
	    --conditions "$NOHOME_ERR" \
	    --max-elapsed 1 >"$W/4-err-$i.log" 2>&1
	rc=$?   # 0: an accepted condition within --max-elapsed
	it_check "4d with no home ${USERS[$i]} on node${NODE_OF[$i]} gets an error at once: $(grep -h ERROR-RECEIVED "$W/4-err-$i.log" | sed 's/ from=.*condition=/ /; s/ text=.* elapsed=/ elapsed=/')" \
	    [ $rc = 0 ]
done

echo "== 5. vcomp-node1 and the component restarted"
[ -n "$COMP_PID" ] && it_wait_exit "$COMP_PID" 3
COMP_PID=
ok=1
rt_start 1 "$UP_RE" || ok=0
comp_start || ok=0
it_wait_count "$W/runtime-node2.log" "a home is available; registering" 2 8 || ok=0
it_wait_count "$W/runtime-node2.log" "$UP_RE" 3 8 || ok=0
it_check "5a vcomp-node1 and the component back, vcomp-node2 registered again" [ $ok = 1 ]
p0=$(to_peer)
step "home back" act_none
p1=$(to_peer)
it_check "5b both users: all delivered and echoed, none bounced, no kicks, wait < ${MAX_WAIT} s ($S_WAIT s)" \
    both_clean
it_check "5c bob's messages go through vcomp-node2" \
    [ $(( ${p1:-0} - ${p0:-0} )) -ge $(( RATE * SECS )) ]

for n in 1 2; do
	[ -n "${RT_PID[$n]:-}" ] && rt_term "$n"
done
if it_san_reports "$W"/runtime-node*.log; then
	it_fail "sanitizer reports in the runtime logs" "$W"/runtime-node*.log
fi
cat "$W/tallies.log" >&2
it_summary
