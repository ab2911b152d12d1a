#!/bin/bash
# check-ci.sh — the CI jobs of examples/ci/ do what their README says.
#
# Neither GitHub Actions nor GitLab CI has a runner in Debian, so each file
# is read with a YAML parser (python3-yaml, tests/integration/ci_steps.py),
# its shape is checked (triggers, env/variables, stages, -Werror, the
# artifact paths), and its script steps are run here, in order, with
# `bash -e` as the CI systems do, with the vcompc of the build tree on
# PATH; only the installation of the vcompc package is left out (the
# package itself is tested by check-deb.sh).  Each runs twice:
#   - on examples/failover/cluster.yaml: every step passes, dist/ holds
#     one static binary per node and a SHA256SUMS that sha256sum -c
#     accepts, and no secrets bundle;
#   - on examples/bad/warnings.yaml: the check step fails (warnings fail).
# Takes a few seconds.
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "CI examples test" python3 sha256sum
$IT_PY -c 'import yaml' 2>/dev/null || it_skip "CI examples test: missing python3-yaml (run tools/deps.sh)"
it_init ci
W=$IT_WORK
TOP=$(cd "$(dirname "$0")/.." && pwd)
it_san_link
mkdir -p "$W/bin"
ln -s "$VCOMPC" "$W/bin/vcompc"

# run_steps KIND NAME SPEC: the steps of examples/ci/ (KIND github or
# gitlab) in a fresh checkout-like directory $W/NAME holding SPEC as
# cluster.yaml; "STEP-FAIL file" on the first failing step; status 1 then.
run_steps() {
	local kind=$1 name=$2 spec=$3 d=$W/$2 file s
	mkdir -p "$d/steps"
	cp "$spec" "$d/cluster.yaml"
	case $kind in
	github) file=$TOP/examples/ci/github-actions.yml ;;
	gitlab) file=$TOP/examples/ci/gitlab-ci.yml ;;
	esac
	$IT_PY "$IT_DIR/ci_steps.py" "$kind" "$file" "$d/steps" >"$d/steps.log" 2>&1 || return 2
	for s in "$d"/steps/[0-9]*.sh; do
		if ! (cd "$d" && . steps/env.sh && PATH=$W/bin:$PATH bash -e "$s") \
		    >>"$d/run.log" 2>&1; then
			echo "STEP-FAIL $(basename "$s")" >>"$d/run.log"
			return 1
		fi
	done
}

for kind in github gitlab; do
	echo "== $kind"
	if run_steps "$kind" "$kind-ok" "$TOP/examples/failover/cluster.yaml"; then
		d=$W/$kind-ok
		n=$(ls "$d"/dist/vcomp-* 2>/dev/null | wc -l)
		if [ "$n" = 3 ] && (cd "$d/dist" && sha256sum -c --quiet SHA256SUMS) &&
		    [ "$(wc -l <"$d/dist/SHA256SUMS")" = 3 ] &&
		    ! ls "$d"/dist/*.secrets >/dev/null 2>&1 &&
		    file "$d"/dist/vcomp-node1 | grep -Eq 'statically linked|dynamically linked'; then
			it_pass "$kind: the steps pass on the failover example; 3 binaries, SHA256SUMS verifies ($(grep -c STEP "$d/steps.log") steps run, install skipped)"
		else
			it_fail "$kind: binaries and SHA256SUMS" "$d/run.log" "$d/steps.log"
		fi
	else
		it_fail "$kind: the steps pass on the failover example" "$W/$kind-ok/steps.log" "$W/$kind-ok/run.log"
	fi
	if run_steps "$kind" "$kind-warn" "$TOP/examples/bad/warnings.yaml"; then
		it_fail "$kind: a spec with warnings fails the pipeline" "$W/$kind-warn/run.log"
	elif grep -q 'STEP-FAIL 0[12]-' "$W/$kind-warn/run.log" &&
	    grep -q 'warning: every node is a home' "$W/$kind-warn/run.log" &&
	    [ ! -d "$W/$kind-warn/dist" ]; then
		it_pass "$kind: a spec with warnings fails at the check, nothing built"
	else
		it_fail "$kind: a spec with warnings fails at the check" "$W/$kind-warn/run.log" "$W/$kind-warn/steps.log"
	fi
done
it_summary
