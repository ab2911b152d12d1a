#!/bin/bash
# bundle.sh — `make bench-bundle`: the runtime bench as a tarball that runs
# on another Linux x86-64 machine with nothing installed but bash and
# coreutils (python3 for the table, valgrind for instruction counts: both
# optional).  Everything in it is statically linked:
#
#   vcomp-bench/portable.sh            the entry point (docs/performance.md)
#   vcomp-bench/build/bench/*          the bench programs (parse, loadgen, ...)
#   vcomp-bench/build/nodes/*          the node binaries of sections 2, 3, 5,
#                                      built by vcompc from run.sh's own specs
#                                      with the ports PORT_BASE .. PORT_BASE+8
#   vcomp-bench/build/vcompc           for section 6 (when it links statically)
#   vcomp-bench/tests/...              run.sh, report.py, genspec.py, lib.sh
#
# The ports are fixed in the node binaries (vcompc compiles the spec into
# them), so the bundle is built for one port range: PORT_BASE (default
# 47100) .. PORT_BASE+8 on 127.0.0.1, which portable.sh checks are free.
# No secret is in any binary: the specs read them from the environment,
# which run.sh fills with fresh random values at each run.
#
# usage: B=build VCOMPC=build/vcompc [PORT_BASE=N] bash tests/bench/bundle.sh
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$root/build}
VCOMPC=${VCOMPC:-$B/vcompc}
PORT_BASE=${PORT_BASE:-47100}
CC=${CC:-cc}
D=$B/vcomp-bench
rm -rf "$D" "$B/vcomp-bench.tar.gz"
mkdir -p "$D/build/bench" "$D/build/nodes" "$D/tests/bench" "$D/tests/integration"

for src in "$root"/tests/bench/*.c; do
	t=$(basename "$src" .c)
	[ "$t" = benchlib ] && continue
	$CC -static -o "$D/build/bench/$t" "$B/tests/bench/$t.o" \
	    "$B/tests/bench/benchlib.o" "$B/libvcrt.a" -lmbedtls -lmbedx509 \
	    -lmbedcrypto -lexpat -lnettle -lm
done
# vcompc links libxml2 and libyaml; static where the system has their .a.
if $CC -static -o "$D/build/vcompc" "$B/compiler/main.o" "$B/libvcompc.a" \
    $(pkg-config --static --libs libxml-2.0 yaml-0.1 2>/dev/null || echo -lxml2 -lyaml) \
    -lnettle -lstdc++ -lm 2>"$D/vcompc-link.log"; then
	rm -f "$D/vcompc-link.log"
else
	echo "bundle: no static vcompc (section 6's vcompc figures will be skipped):" >&2
	tail -n 3 "$D/vcompc-link.log" >&2
	rm -f "$D/build/vcompc" "$D/vcompc-link.log"
fi
cp "$root/tests/bench/run.sh" "$root/tests/bench/report.py" \
    "$root/tests/bench/genspec.py" "$D/tests/bench/"
cp "$root/tests/integration/lib.sh" "$root/tests/integration/prosody-down.sh" \
    "$D/tests/integration/"
sed "s/@PORT_BASE@/$PORT_BASE/" "$root/tests/bench/portable.sh" >"$D/portable.sh"
chmod +x "$D/portable.sh"

# The node binaries: run.sh builds them from its own specs and stops.
VCOMPC=$VCOMPC B=$B PORT_BASE=$PORT_BASE BUNDLE_OUT=$D/build/nodes \
    bash "$root/tests/bench/run.sh"
strip "$D"/build/bench/* "$D"/build/vcompc 2>/dev/null || true
tar -C "$B" -czf "$B/vcomp-bench.tar.gz" vcomp-bench
echo "bundle: $B/vcomp-bench.tar.gz ($(du -h "$B/vcomp-bench.tar.gz" | cut -f1)), ports $PORT_BASE..$((PORT_BASE + 8))"
