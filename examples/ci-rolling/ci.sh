#!/bin/sh
# ci.sh — the build job of a vcomp cluster whose spec lives in git.
#
#   1. vcompc --check: the new spec is valid;
#   2. vcompc plan: compared with the spec the cluster runs, the change can
#      roll one node at a time (else the job fails here, saying why), and
#      the plan (roll order, unchanged nodes) is kept as an artifact;
#   3. vcompc --all: the binaries, plus a list of the nodes whose binary
#      changed, so the deploy job skips the others (their binaries are
#      byte-identical to what runs).
#
# The spec the cluster runs is PREV_SPEC (a file), or else the spec at git
# revision PREV_REF (default: the last commit tagged deployed-*, else
# HEAD~1).  SPEC is the new spec (default cluster.yaml beside this script),
# OUT the artifact directory (default dist).  VCOMPC names vcompc.
#
# Exit status: 0 ready to deploy; 1 the spec is wrong or the change cannot
# roll without an outage (plan.txt and the job log say why).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
SPEC=${SPEC:-$here/cluster.yaml}
OUT=${OUT:-dist}
VCOMPC=${VCOMPC:-vcompc}

mkdir -p "$OUT"
"$VCOMPC" --check "$SPEC"

prev=${PREV_SPEC:-}
if [ -z "$prev" ]; then
	ref=${PREV_REF:-$(git describe --tags --abbrev=0 --match 'deployed-*' 2>/dev/null || echo HEAD~1)}
	prev="$OUT/previous.${SPEC##*.}"
	git show "$ref:$(git ls-files --full-name "$SPEC")" >"$prev"
fi

# The plan is printed and kept; a change that cannot roll fails the job.
if ! "$VCOMPC" plan "$prev" "$SPEC" >"$OUT/plan.txt"; then
	cat "$OUT/plan.txt"
	echo "ci.sh: this change cannot roll without an outage; see above" >&2
	exit 1
fi
cat "$OUT/plan.txt"

"$VCOMPC" --all -d "$OUT" "$SPEC"
# The nodes the deploy job must roll, in order; "skip" nodes are left out.
sed -n 's/^  [0-9][0-9]*\. \([^ ]*\).*/\1/p' "$OUT/plan.txt" | grep -v '^stop$' \
    >"$OUT/deploy-order.txt" || true
