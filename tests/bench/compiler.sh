#!/bin/bash
# compiler.sh — how vcompc scales (run by `make bench-compiler`).
#
# Generates specs of 1 000 and 10 000 components on 16 nodes in both
# formats (tests/bench/genspec.py), runs `vcompc --all -c -d DIR` on each
# and prints wall time, peak RSS and the size of the generated C, then the
# 10 000 / 1 000 ratios: about 10 means linear.  Nothing is asserted on
# time; this is a measurement, not a test.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
VCOMPC=${VCOMPC:-$root/build/vcompc}
PY=/usr/bin/python3
NODES=${NODES:-16}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM

[ -x "$VCOMPC" ] || { echo "bench: $VCOMPC is missing; run make" >&2; exit 1; }
if [ -x /usr/bin/time ]; then
	TIME=/usr/bin/time
else
	echo "bench: /usr/bin/time is missing (apt-get install time); RSS not measured" >&2
	TIME=
fi

# run SPEC OUTDIR -> prints "seconds peak_kib"
run() {
	mkdir -p "$2"
	if [ -n "$TIME" ]; then
		$TIME -f '%e %M' -o "$W/time" "$VCOMPC" --all -c -d "$2" "$1" 2>"$W/err" ||
			{ cat "$W/err" >&2; exit 1; }
		cat "$W/time"
	else
		local t0 t1
		t0=$(date +%s.%N)
		"$VCOMPC" --all -c -d "$2" "$1" 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
		t1=$(date +%s.%N)
		echo "$(echo "$t1 - $t0" | bc) 0"
	fi
}

printf '%-11s %11s %6s %10s %10s %12s %12s\n' format components nodes spec-bytes seconds peak-RSS-KiB C-bytes
for fmt in yaml properties; do
	ext=$fmt
	for n in 1000 10000; do
		spec="$W/spec-$n.$ext"
		$PY "$root/tests/bench/genspec.py" $fmt $n "$NODES" >"$spec"
		read -r secs kib < <(run "$spec" "$W/out-$fmt-$n")
		cbytes=$(cat "$W/out-$fmt-$n"/*.c | wc -c)
		sbytes=$(wc -c <"$spec")
		printf '%-11s %11d %6d %10d %10s %12s %12d\n' $fmt $n "$NODES" "$sbytes" "$secs" "$kib" "$cbytes"
		eval "secs_${fmt}_$n=$secs kib_${fmt}_$n=$kib cb_${fmt}_$n=$cbytes"
		rm -rf "$W/out-$fmt-$n"
	done
done
echo
echo "10 000 / 1 000 ratios (10 = linear):"
for fmt in yaml properties; do
	eval "s1=\$secs_${fmt}_1000 s2=\$secs_${fmt}_10000 k1=\$kib_${fmt}_1000 k2=\$kib_${fmt}_10000 c1=\$cb_${fmt}_1000 c2=\$cb_${fmt}_10000"
	$PY -c 'import sys
f, s1, s2, k1, k2, c1, c2 = sys.argv[1:]
r = lambda a, b: "%.1f" % (float(b) / float(a)) if float(a) > 0 else "n/a"
print("  %-11s time %5s   peak RSS %5s   C bytes %5s" % (f, r(s1, s2), r(k1, k2), r(c1, c2)))' \
		$fmt "$s1" "$s2" "$k1" "$k2" "$c1" "$c2"
done
echo "(peak RSS includes a fixed base of a few MiB, so its ratio stays below 10)"
