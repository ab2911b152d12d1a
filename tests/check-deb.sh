#!/bin/bash
# check-deb.sh — the vcompc Debian package (make deb, tools/mkdeb.sh):
#   - it builds with dpkg-deb and its control file names the package,
#     version, architecture and a Depends that holds vcompc's shared
#     libraries and the toolchain vcompc links node binaries with;
#   - lintian (--pedantic, info tags shown) reports nothing;
#   - installed, its vcompc builds a node binary that runs: for real with
#     dpkg -i when this is root and no vcompc package is installed (and
#     removed again with dpkg --purge), else unpacked with dpkg -x into a
#     temporary root, whose vcompc finds the runtime in ../lib/vcomp.
# Takes about 70 s from scratch, 30 s once $B/deb/ is built (lintian
# alone about 20).
set -u
. "$(dirname "$0")/integration/lib.sh"
it_node_env
it_require "Debian package test" dpkg-deb lintian dpkg-shlibdeps
it_init deb
W=$IT_WORK
TOP=$(cd "$(dirname "$0")/.." && pwd)
# The package is built in $B/deb/ (its own tree with Debian's flags), so a
# second run only relinks what changed.
DEBB=$B

echo "== 1. make deb"
if make -C "$TOP" -j2 B="$DEBB" deb >"$W/make.log" 2>&1 &&
    DEB=$(ls "$DEBB"/deb/vcompc_*.deb 2>/dev/null) && [ -f "$DEB" ]; then
	it_pass "1a make deb builds $(basename "$DEB")"
else
	it_fail "1a make deb" "$W/make.log"
	it_summary
	exit 1
fi
dpkg-deb -f "$DEB" >"$W/control.txt"
dpkg-deb -c "$DEB" >"$W/contents.txt"
if grep -q '^Package: vcompc$' "$W/control.txt" &&
    grep -Eq '^Depends: .*libxml2.*libyaml.*gcc \| c-compiler, libc6-dev, libexpat1-dev, nettle-dev, libmbedtls-dev$' "$W/control.txt" &&
    grep -Eq '^Depends: .*libc6 \(>= ' "$W/control.txt"; then
	it_pass "1b control: $(grep '^Depends:' "$W/control.txt")"
else
	it_fail "1b control file" "$W/control.txt"
fi
ok=1
for f in ./usr/bin/vcompc ./usr/lib/vcomp/libvcrt.a ./usr/lib/vcomp/vcomp_table.h \
    ./usr/share/man/man1/vcompc.1.gz ./usr/share/man/man5/vcomp.yaml.5.gz \
    ./usr/share/man/man8/vcomp.8.gz ./usr/share/doc/vcompc/copyright \
    ./usr/share/doc/vcompc/changelog.gz ./usr/share/doc/vcompc/runtime.md \
    ./usr/share/doc/vcompc/examples/failover/cluster.yaml \
    ./lib/systemd/system/vcomp@.service; do
	grep -q " $f\$" "$W/contents.txt" || { echo "  missing: $f"; ok=0; }
done
if [ $ok = 1 ] && ! awk '{ print $2 }' "$W/contents.txt" | grep -qv '^root/root$'; then
	it_pass "1c contents: vcompc, libvcrt.a and its header, man pages, docs, examples, the unit; all root/root"
else
	it_fail "1c contents" "$W/contents.txt"
fi

echo "== 2. lintian"
lintian --pedantic -I --no-tag-display-limit "$DEB" >"$W/lintian.txt" 2>&1
if ! grep -Eq '^[EWIP]: ' "$W/lintian.txt"; then
	it_pass "2a lintian --pedantic -I: no tag"
else
	it_fail "2a lintian" "$W/lintian.txt"
fi

echo "== 3. installed, it builds a node"
P1=$(it_free_port) && P2=$(it_free_port) && P3=$(it_free_port) &&
    P4=$(it_free_port) || { echo "FAIL: no free ports"; exit 1; }
cat >"$W/spec.yaml" <<SPEC
cluster:
  secret: {env: CLUSTER_SECRET}
nodes:
  node1:
    peer: 127.0.0.1:$P1
  node2:
    peer: 127.0.0.1:$P2
    server: 127.0.0.1:$P3
    listen: 127.0.0.1:$P4
components:
  muc.example.test:
    home: node1
    secret: {env: MUC_SECRET}
SPEC
# dpkg refuses to run while another dpkg or apt holds its lock (an
# unattended upgrade, a parallel `make deps`): wait for it, up to 5 min,
# rather than failing on someone else's install.
dpkg_waiting() {        # dpkg_waiting LOG ARGS...: dpkg ARGS, output in LOG
	local log=$1 i
	shift
	for i in $(seq 300); do
		dpkg "$@" >"$log" 2>&1 && return 0
		grep -q 'dpkg frontend lock\|lock-frontend\|dpkg status database is locked' "$log" ||
		    return 1
		[ "$i" = 1 ] && it_log "dpkg is locked by another process; waiting"
		sleep 1
	done
	return 1
}
REAL=0
if [ "$(id -u)" = 0 ] && ! dpkg-query -W vcompc >/dev/null 2>&1; then
	REAL=1
	trap 'dpkg_waiting /dev/null --purge vcompc; it_cleanup' EXIT
	if dpkg_waiting "$W/install.log" -i "$DEB" && [ -x /usr/bin/vcompc ]; then
		it_pass "3a dpkg -i installs it"
	else
		it_fail "3a dpkg -i" "$W/install.log"
	fi
	VC=/usr/bin/vcompc
else
	dpkg -x "$DEB" "$W/root"
	VC=$W/root/usr/bin/vcompc
	it_log "not root or vcompc already installed: unpacked into $W/root"
fi
unset VCOMP_LIBDIR CC
if (cd "$W" && env -u VCOMP_STATIC -u VCOMP_EXTRA_CFLAGS "$VC" --node node2 -o vcomp-node2 spec.yaml) >"$W/node.log" 2>&1 &&
    "$W/vcomp-node2" --version >"$W/version.txt" 2>&1 &&
    grep -q '^node node2$' "$W/version.txt" &&
    file "$W/vcomp-node2" | grep -q 'statically linked'; then
	it_pass "3b the installed vcompc ($VC) builds a static vcomp-node2 that runs"
else
	it_fail "3b the installed vcompc builds a node binary" "$W/node.log" "$W/version.txt"
fi
if MUC_SECRET=0123456789abcdef0123 CLUSTER_SECRET=0123456789abcdef0123 \
    "$W/vcomp-node2" --check >"$W/check.log" 2>&1; then
	it_pass "3c its --check passes"
else
	it_fail "3c its --check passes" "$W/check.log"
fi
if [ $REAL = 1 ]; then
	if dpkg_waiting "$W/purge.log" --purge vcompc && [ ! -e /usr/bin/vcompc ] &&
	    [ ! -e /usr/lib/vcomp ] && [ ! -e /lib/systemd/system/vcomp@.service ]; then
		it_pass "3d dpkg --purge removes every file"
	else
		it_fail "3d dpkg --purge" "$W/purge.log"
	fi
fi
it_summary
