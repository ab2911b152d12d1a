#!/bin/sh
# run.sh — golden tests for vcompc.
#
# Each tests/golden/**/*.test file is self-describing:
#
#   # cmd: vcompc --check spec.yaml        (run in a fresh temp dir)
#   # exit: 1                              (expected exit status)
#   ==> spec.yaml <==                      (an input file, any name)
#   ...
#   ==> stderr <==                         (expected stderr, exact)
#   ...
#   ==> stdout <==                         (expected stdout, exact; optional:
#   ...                                     when absent, stdout is not checked)
#
# "vcompc" in cmd is replaced by $VCOMPC.  UPDATE=1 rewrites the expected
# sections from what vcompc printed (review the diff before committing).
set -u
: "${VCOMPC:?VCOMPC must name the vcompc binary}"
dir=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0 fail=0

for t in $(find "$dir" -name '*.test' | LC_ALL=C sort); do
	name=${t#"$dir"/}
	w="$tmp/w"; rm -rf "$w"; mkdir -p "$w"
	cmd=$(sed -n 's/^# cmd: //p' "$t" | head -n 1)
	want_rc=$(sed -n 's/^# exit: //p' "$t" | head -n 1)
	# Split the sections into files under $w/.sections/
	mkdir -p "$w/.sections"
	awk -v out="$w/.sections" '
		/^==> .* <==$/ { f = substr($0, 5, length($0) - 8); gsub("/", "%", f);
				 file = out "/" f; printf "" > file; next }
		file != ""     { print >> file }
	' "$t"
	for s in "$w"/.sections/*; do
		n=$(basename "$s")
		case $n in stderr|stdout) continue ;; esac
		dest="$w/$(echo "$n" | tr '%' '/')"
		mkdir -p "$(dirname "$dest")"
		cp "$s" "$dest"
	done
	run=$(printf "%s\n" "$cmd" | sed "s#^vcompc#$VCOMPC#; s# vcompc # $VCOMPC #g")
	(cd "$w" && eval "$run" >"$tmp/out" 2>"$tmp/err"; echo $? >"$tmp/rc")
	rc=$(cat "$tmp/rc")
	ok=1
	[ "$rc" = "$want_rc" ] || { echo "FAIL $name: exit $rc, want $want_rc"; ok=0; }
	if [ -f "$w/.sections/stderr" ]; then
		if ! cmp -s "$tmp/err" "$w/.sections/stderr"; then
			echo "FAIL $name: stderr differs"; diff -u "$w/.sections/stderr" "$tmp/err" | head -n 20; ok=0
		fi
	elif [ -s "$tmp/err" ]; then
		echo "FAIL $name: unexpected stderr"; head -n 5 "$tmp/err"; ok=0
	fi
	if [ -f "$w/.sections/stdout" ] && ! cmp -s "$tmp/out" "$w/.sections/stdout"; then
		echo "FAIL $name: stdout differs"; diff -u "$w/.sections/stdout" "$tmp/out" | head -n 20; ok=0
	fi
	if [ $ok = 0 ] && [ "${UPDATE:-}" = 1 ]; then
		# Keep everything up to the first expected section, then write
		# what vcompc printed.
		awk '/^==> (stderr|stdout) <==$/ { exit } { print }' "$t" >"$tmp/new"
		sed -i "s/^# exit: .*/# exit: $rc/" "$tmp/new"
		if [ -s "$tmp/err" ]; then echo "==> stderr <=="; cat "$tmp/err"; fi >>"$tmp/new"
		if [ -f "$w/.sections/stdout" ]; then echo "==> stdout <=="; cat "$tmp/out"; fi >>"$tmp/new"
		cp "$tmp/new" "$t"
		echo "UPDATED $name"
	fi
	if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "golden: $pass passed, $fail failed"
[ $fail = 0 ]
