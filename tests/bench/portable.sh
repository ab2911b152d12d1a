#!/bin/bash
# portable.sh — the runtime bench from the static binaries of
# `make bench-bundle` (tests/bench/bundle.sh), on a machine with no
# compiler and no XMPP server: sections 1 (parser), 2 (one hop, with
# callgrind when valgrind is there), 3 (virtual path), 5 (memory, return
# routes) and 6 (binary size; vcompc scaling when the bundle has a static
# vcompc and the machine /usr/bin/time and python3).  Sections 4 and 7 need
# Prosody: run `make bench` from a checkout for them.
#
#   ./portable.sh            full (5 runs, a few minutes)
#   QUICK=1 ./portable.sh    quick (3 runs, under a minute or two)
#
# Results go to build/bench/ next to this script (table.txt, results.csv,
# raw.txt, profile.txt), as docs/performance.md describes.  The node
# binaries were built for 127.0.0.1 ports PORT_BASE .. PORT_BASE+8; this
# script stops if one of them is taken.
set -u
here=$(cd "$(dirname "$0")" && pwd)
PORT_BASE=@PORT_BASE@

for p in $(seq "$PORT_BASE" $((PORT_BASE + 8))); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
		echo "portable: 127.0.0.1:$p is in use; the bundle's nodes need" \
		    "$PORT_BASE..$((PORT_BASE + 8)): free them, or build a bundle" \
		    "for other ports (make bench-bundle PORT_BASE=N)" >&2
		exit 1
	fi
done
echo "portable: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
export PORT_BASE
export PREBUILT=$here/build/nodes
export B=$here/build
export VCOMPC=$here/build/vcompc
export ONLY=${ONLY:-1 2 3 5 6}
exec bash "$here/tests/bench/run.sh"
