#!/bin/bash
# demo.sh — vcompc on the quick-start cluster, step by step (`make demo`).
#
# Checks examples/quickstart/cluster.yaml, shows what node2 gets, writes
# node1's routing table as C and shows its start, then builds both nodes'
# static binaries if the runtime library is built.  Everything is written
# to a temporary directory that is removed at the end.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
B=${B:-build}
VCOMPC=${VCOMPC:-$B/vcompc}
SPEC=examples/quickstart/cluster.yaml
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM


step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

[ -x "$VCOMPC" ] || { echo "demo: $VCOMPC is missing; run make" >&2; exit 1; }
[ -f "$SPEC" ] || { echo "demo: $SPEC is missing" >&2; exit 1; }

step "1. The spec: two nodes, one component (muc.example.test) homed on node1"
grep -v '^ *#' "$SPEC" | grep -v '^$'

step "2. Check it (exit status 0 = no errors; nothing is written)"
show "$VCOMPC" --check "$SPEC"
echo "exit status $?"

step "3. What node2 gets: the spec as node2 sees it (--emit=json)"
echo "   muc.example.test is 'virtual' on node2: its runtime answers disco#info"
echo "   itself and forwards everything else to node1."
show "$VCOMPC" --emit=json --node node2 "$SPEC"

step "4. node1's routing table as C (first 60 lines)"
show "$VCOMPC" -c --node node1 -o "$W/node1.c" "$SPEC"
head -n 60 "$W/node1.c"
echo "   ... ($(wc -l <"$W/node1.c") lines in all)"
"$VCOMPC" -c --node node1 -o "$W/again.c" "$SPEC"
if cmp -s "$W/node1.c" "$W/again.c"; then
	echo "   Generated twice: byte-identical (deterministic output)."
else
	echo "   WARNING: two runs gave different C" >&2
fi

if [ -f "$B/libvcrt.a" ]; then
	step "5. One static binary per node"
	mkdir -p "$W/dist"
	show "$VCOMPC" --all -d "$W/dist" "$SPEC"
	for f in "$W"/dist/*; do
		printf '   %-12s %8d bytes  %s\n' "$(basename "$f")" "$(wc -c <"$f")" \
			"$(file -b "$f" | cut -d, -f1-2)"
	done
else
	step "5. Binaries: skipped, $B/libvcrt.a is not built yet (make)"
fi

step "Where to look next"
cat <<'TXT'
   docs/cli.md               every vcompc option, outputs, the secrets bundle
   docs/spec-reference.md    every key of the YAML and Tigase formats
   runtime/vcomp_table.h     the table layout the generated C fills in
   examples/                 more specs (YAML and Tigase init.properties)
   make check                every test, then again under ASan+UBSan
TXT
