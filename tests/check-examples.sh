#!/bin/bash
# check-examples.sh — the examples/ folder says what vcompc really does.
#
#   - every bad spec (examples/bad/*.yaml, *.properties, *.tdsl) gives exactly the
#     diagnostics and exit status of examples/bad/NAME.expected, which is
#     vcompc's stderr followed by a line "exit status: N"; vcompc runs from
#     the top of the tree on examples/bad/NAME, as the README shows;
#   - every bad spec has its .expected file and vice versa, and
#     examples/bad/README.md quotes every line of every .expected file, so
#     the README cannot drift from what vcompc prints;
#   - every good example (every other *.yaml, *.properties and *.tdsl under
#     examples/) builds with `vcompc --all -c -d DIR -Werror`: no error, no
#     warning, one NODE.c per node that --emit=json lists;
#   - the -Wunused output pasted in examples/tigase/README.md and
#     examples/tigase8/README.md is what vcompc prints;
#   - examples/ci-rolling/ci.sh runs as its README shows: a comment edit
#     plans no deploy and its binaries are byte-identical to the old
#     spec's; a cluster secret replaced in one step fails the job;
#   - every example folder has a README.md.
#
# UPDATE=1 rewrites the .expected files from what vcompc printed (review
# the diff, then update examples/bad/README.md to match).
#
# Run by `make check` with VCOMPC (and B, SAN, CC) in the environment.
# Prints "PASS: ..." / "FAIL: ..." per check, then "N passed, N failed".
set -u
: "${VCOMPC:?VCOMPC must name the vcompc binary}"
PY=/usr/bin/python3
root=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
pass=0 fail=0

ok()  { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }

cd "$root" || exit 1

# ---- bad specs: exact diagnostics
bads=$(find examples/bad -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.properties' -o -name '*.tdsl' \) | LC_ALL=C sort)
[ "$(echo "$bads" | wc -w)" -ge 8 ] && ok "examples/bad holds at least 8 specs" ||
	bad "examples/bad holds at least 8 specs"
for spec in $bads; do
	exp=${spec%.*}.expected
	"$VCOMPC" --check "$spec" >"$W/out" 2>"$W/err"
	rc=$?
	{ cat "$W/err"; echo "exit status: $rc"; } >"$W/got"
	if [ -n "${UPDATE:-}" ]; then
		cp "$W/got" "$exp"
	fi
	if [ ! -f "$exp" ]; then
		bad "$spec: $exp is missing (UPDATE=1 writes it)"
		continue
	fi
	if cmp -s "$W/got" "$exp"; then
		ok "$spec: diagnostics match $(basename "$exp")"
	else
		bad "$spec: diagnostics differ from $(basename "$exp")"
		diff -u "$exp" "$W/got" | sed 's/^/    /' | head -n 30
	fi
	if [ -s "$W/out" ]; then
		bad "$spec: --check wrote to standard output"
	fi
	# A spec in bad/ must show a mistake: an error, or at least a warning.
	if ! grep -qE ': (error|warning): ' "$W/err"; then
		bad "$spec: vcompc finds nothing wrong with it"
	fi
	# The README quotes every diagnostic line exactly.
	missing=0
	while IFS= read -r line; do
		case $line in "exit status: "*) continue ;; esac
		grep -qxF -- "    $line" examples/bad/README.md 2>/dev/null ||
			grep -qxF -- "$line" examples/bad/README.md 2>/dev/null || {
			[ $missing = 0 ] && bad "$spec: examples/bad/README.md does not quote:"
			echo "    $line"
			missing=1
		}
	done <"$exp"
	[ $missing = 0 ] && ok "$spec: README.md quotes its diagnostics"
	grep -qF "$(basename "$spec")" examples/bad/README.md 2>/dev/null ||
		bad "$spec: examples/bad/README.md does not mention it"
done
for exp in examples/bad/*.expected; do
	[ -e "$exp" ] || continue
	base=${exp%.expected}
	[ -f "$base.yaml" ] || [ -f "$base.properties" ] || [ -f "$base.tdsl" ] ||
		bad "$exp: no spec of that name in examples/bad"
done

# ---- good examples: build every node's C, warning-free
goods=$(find examples -path examples/bad -prune -o -type f \( -name '*.yaml' -o -name '*.properties' -o -name '*.tdsl' \) -print | LC_ALL=C sort)
[ -n "$goods" ] && ok "there are good examples" || bad "there are good examples"
for spec in $goods; do
	d="$W/good/$(echo "$spec" | tr / _)"
	mkdir -p "$d/c" "$d/json"
	if ! "$VCOMPC" -Werror --all -c -d "$d/c" "$spec" 2>"$d/err" ||
	    [ -s "$d/err" ]; then
		bad "$spec: --all -c -d -Werror"
		sed 's/^/    /' "$d/err"
		continue
	fi
	if ! "$VCOMPC" --all --emit=json -d "$d/json" "$spec" 2>"$d/err"; then
		bad "$spec: --all --emit=json"
		continue
	fi
	want=$($PY -c 'import json,sys; print(" ".join(sorted(n["name"] + ".c" for n in json.load(open(sys.argv[1]))["nodes"])))' \
		"$(ls "$d"/json/*.json | head -n 1)")
	got=$(cd "$d/c" && ls | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	want=$(echo "$want" | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$want" ]; then
		ok "$spec: --all -c wrote $got"
	else
		bad "$spec: --all -c wrote '$got', want '$want'"
	fi
done

# ---- the tigase READMEs show vcompc's real -Wunused output
for spec in examples/tigase/init.properties examples/tigase8/config.tdsl; do
	readme=$(dirname "$spec")/README.md
	"$VCOMPC" --check -Wunused "$spec" >/dev/null 2>"$W/unused"
	if [ ! -s "$W/unused" ]; then
		bad "$spec: -Wunused printed nothing"
		continue
	fi
	missing=0
	while IFS= read -r line; do
		grep -qxF -- "    $line" "$readme" 2>/dev/null || {
			[ $missing = 0 ] && bad "$readme does not quote the -Wunused line(s):"
			echo "    $line"
			missing=1
		}
	done <"$W/unused"
	[ $missing = 0 ] && ok "$readme quotes the -Wunused output"
done

# ---- examples/ci-rolling: the CI job runs as its README shows, and a
# comment edit changes no binary (byte for byte, through the real link).
ci=examples/ci-rolling
# Under SAN=1 vcompc's runtime library is built with the sanitizers, so
# node binaries link dynamically with them (tests/integration/lib.sh,
# it_san_link, does the same for the integration tests).
if [ "${SAN:-}" = 1 ]; then
	export VCOMP_STATIC=0
	export VCOMP_EXTRA_CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
sed 's/^version: 1/version: 1   # reviewed/; s/^  node1:$/  node1:    # the first node/' \
    "$ci/cluster.yaml" >"$W/ci-new.yaml"
if PREV_SPEC="$ci/cluster.yaml" SPEC="$W/ci-new.yaml" VCOMPC="$VCOMPC" \
    OUT="$W/ci-dist" sh "$ci/ci.sh" >"$W/ci.log" 2>&1 &&
    grep -q '^  node1: binary unchanged$' "$W/ci-dist/plan.txt" &&
    [ ! -s "$W/ci-dist/deploy-order.txt" ]; then
	ok "$ci/ci.sh: a comment edit plans no deploy"
else
	bad "$ci/ci.sh: a comment edit plans no deploy"; sed 's/^/    /' "$W/ci.log" | head -n 20
fi
if [ "${SAN:-}" = 1 ]; then
	# Sanitized binaries are linked dynamically and are not reproducible;
	# byte-identity is a property of the static release link, which the
	# plain pass of make check checks.
	echo "SKIPPED under SAN=1: $ci: byte-identical binaries (checked by the plain pass)"
elif "$VCOMPC" --all -d "$W/ci-old" "$ci/cluster.yaml" 2>"$W/ci-old.err" &&
    cmp "$W/ci-old/vcomp-node1" "$W/ci-dist/vcomp-node1" &&
    cmp "$W/ci-old/vcomp-node2" "$W/ci-dist/vcomp-node2"; then
	ok "$ci: binaries of a spec with an edited comment are byte-identical"
else
	bad "$ci: binaries of a spec with an edited comment are byte-identical"
	sed 's/^/    /' "$W/ci-old.err" | head -n 5
fi
sed 's/VCOMP_CLUSTER_SECRET}/VCOMP_CLUSTER_SECRET_2}/' "$ci/cluster.yaml" >"$W/ci-bad.yaml"
PREV_SPEC="$ci/cluster.yaml" SPEC="$W/ci-bad.yaml" VCOMPC="$VCOMPC" \
    OUT="$W/ci-dist2" sh "$ci/ci.sh" >"$W/ci2.log" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q 'plan-cluster-secret' "$W/ci2.log" &&
    [ ! -e "$W/ci-dist2/vcomp-node1" ]; then
	ok "$ci/ci.sh: a secret replaced in one step fails the job, nothing built"
else
	bad "$ci/ci.sh: a secret replaced in one step fails the job (exit $rc)"
	sed 's/^/    /' "$W/ci2.log" | head -n 20
fi

# ---- every example folder explains itself
for d in examples/*/; do
	if [ -s "$d/README.md" ]; then
		ok "${d%/}: has README.md"
	else
		bad "${d%/}: README.md is missing"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
