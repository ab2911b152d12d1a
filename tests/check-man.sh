#!/bin/bash
# check-man.sh — the man pages are clean, and `make install` works.
#
#   - every page in docs/man/ passes `mandoc -T lint -W warning` with no
#     output (SKIPPED, loudly, when mandoc is missing);
#   - the three pages vcompc(1), vcomp.yaml(5) and vcomp(8) exist;
#   - `make install DESTDIR=TMP PREFIX=/usr` puts vcompc, libvcrt.a,
#     vcomp_table.h and the three pages where they belong;
#   - the installed vcompc, with VCOMP_LIBDIR unset, checks
#     examples/quickstart/cluster.yaml and links node1's binary against the
#     *installed* runtime library: it finds it as ../lib/vcomp from its own
#     directory (compiler/link.c), since a DESTDIR tree is not at PREFIX.
#     To be sure it is that library and not the build tree, the installed
#     libvcrt.a is then moved away and the same link must fail;
#   - the installed node binary runs (--version names node1);
#   - docs/systemd/vcomp@.service passes `systemd-analyze verify` (SKIPPED
#     when systemd-analyze is missing) and sets the hardening it documents;
#   - `make uninstall DESTDIR=TMP PREFIX=/usr` removes every installed file.
#
# Run by `make check` with VCOMPC, B, SAN and CC in the environment; the
# install uses the same build tree $B.  Prints "PASS: ..." / "FAIL: ..."
# per check, then "N passed, N failed".
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$root/build}
SAN=${SAN:-}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
pass=0 fail=0

ok()  { echo "PASS: $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

cd "$root" || exit 1

# ---- lint
for p in vcompc.1 vcomp.yaml.5 vcomp.8; do
	check "docs/man/$p exists" test -s "docs/man/$p"
done
if command -v mandoc >/dev/null 2>&1; then
	for m in docs/man/*.[1-8]; do
		out=$(mandoc -T lint -W warning "$m" 2>&1)
		if [ -z "$out" ]; then
			ok "mandoc -T lint -W warning $m"
		else
			bad "mandoc -T lint -W warning $m"
			echo "$out" | sed 's/^/    /'
		fi
	done
else
	echo "SKIPPED: man page lint: mandoc is missing (apt-get install mandoc)"
fi

# ---- make install / uninstall into a temporary DESTDIR
D="$W/dest"
# The install makes nothing new in $B unless PREFIX differs from the
# last build's, in which case vcompc is relinked with the new library
# directory (Makefile, libdir.stamp).
if ! make -s B="$B" SAN="$SAN" install DESTDIR="$D" PREFIX=/usr >"$W/install.log" 2>&1; then
	bad "make install DESTDIR=... PREFIX=/usr"
	sed 's/^/    /' "$W/install.log" | tail -n 30
	echo "$pass passed, $fail failed"
	exit 1
fi
ok "make install DESTDIR=... PREFIX=/usr"
installed="usr/bin/vcompc usr/lib/vcomp/libvcrt.a usr/lib/vcomp/vcomp_table.h
	usr/share/man/man1/vcompc.1 usr/share/man/man5/vcomp.yaml.5
	usr/share/man/man8/vcomp.8"
for f in $installed; do
	check "installed $f" test -s "$D/$f"
done
check "installed vcompc is executable" test -x "$D/usr/bin/vcompc"

# The installed vcompc on the quick-start spec, from a directory that is
# not the source tree.
spec="$W/cluster.yaml"
cp examples/quickstart/cluster.yaml "$spec"
vc="$D/usr/bin/vcompc"
check "installed vcompc --check" \
	env -u VCOMP_LIBDIR "$vc" --check "$spec"
# Sanitizer builds cannot link a node statically (docs/cli.md).
link_env="-u VCOMP_LIBDIR"
if [ -n "$SAN" ]; then
	link_env="$link_env VCOMP_STATIC=0 VCOMP_EXTRA_CFLAGS=-fsanitize=address,undefined"
fi
if (cd "$W" && env $link_env "$vc" --node node1 -o "$W/vcomp-node1" "$spec") \
	>"$W/link.log" 2>&1 && [ -x "$W/vcomp-node1" ]; then
	ok "installed vcompc links node1 against the installed library"
else
	bad "installed vcompc links node1 against the installed library"
	sed 's/^/    /' "$W/link.log" | tail -n 20
fi
if [ -x "$W/vcomp-node1" ] &&
    "$W/vcomp-node1" --version 2>/dev/null | grep -qx 'node node1'; then
	ok "the installed-library binary runs (--version)"
else
	bad "the installed-library binary runs (--version)"
fi
# Without the installed library the same link must fail: the one above
# did not come from the build tree.
# (A real installation at /usr would be found by its compiled-in path.)
mv "$D/usr/lib/vcomp/libvcrt.a" "$W/libvcrt.a.aside"
if [ -e /usr/lib/vcomp/libvcrt.a ]; then
	echo "SKIPPED: link without the installed library: /usr/lib/vcomp/libvcrt.a exists on this machine"
elif (cd "$W" && env $link_env "$vc" --node node1 -o "$W/again" "$spec") \
	>"$W/nolib.log" 2>&1; then
	bad "without the installed libvcrt.a the link fails"
else
	check "without the installed libvcrt.a the link fails" \
		grep -q 'cannot find the runtime library' "$W/nolib.log"
fi
mv "$W/libvcrt.a.aside" "$D/usr/lib/vcomp/libvcrt.a"

# ---- the systemd unit: systemd-analyze verify reads it as systemd would
# (unknown keys, bad syntax, a missing ExecStart binary).  The binary
# linked above stands in for the installed one.
unit=docs/systemd/vcomp@.service
check "$unit exists" test -s "$unit"
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "SKIPPED: systemd unit check: systemd-analyze is missing (apt-get install systemd)"
elif [ ! -x "$W/vcomp-node1" ]; then
	bad "$unit: no node binary to verify it with"
else
	mkdir -p "$W/unit"
	sed "s|^ExecStart=/usr/local/lib/vcomp/bin/vcomp-%i |ExecStart=$W/vcomp-node1 |" \
		"$unit" >"$W/unit/vcomp@node1.service"
	if ! grep -q "^ExecStart=$W/vcomp-node1 " "$W/unit/vcomp@node1.service"; then
		bad "$unit: ExecStart is not /usr/local/lib/vcomp/bin/vcomp-%i ..."
	else
		out=$(systemd-analyze verify --man=no "$W/unit/vcomp@node1.service" 2>&1)
		if [ -z "$out" ]; then
			ok "systemd-analyze verify $unit"
		else
			bad "systemd-analyze verify $unit"
			echo "$out" | sed 's/^/    /' | head -n 20
		fi
	fi
	for k in Type=notify DynamicUser=yes ProtectSystem=strict \
	    NoNewPrivileges=yes CapabilityBoundingSet= Restart=on-failure; do
		check "$unit sets $k" grep -qx "$k" "$unit"
	done
fi

if make -s B="$B" SAN="$SAN" uninstall DESTDIR="$D" PREFIX=/usr >"$W/uninstall.log" 2>&1; then
	ok "make uninstall DESTDIR=... PREFIX=/usr"
else
	bad "make uninstall DESTDIR=... PREFIX=/usr"
	sed 's/^/    /' "$W/uninstall.log" | tail -n 20
fi
left=$(cd "$D" && find . -type f | sort)
if [ -z "$left" ]; then
	ok "uninstall left no file behind"
else
	bad "uninstall left files behind:"
	echo "$left" | sed 's/^/    /'
fi
check "uninstall removed the library directory" test ! -e "$D/usr/lib/vcomp"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
