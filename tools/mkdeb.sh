#!/bin/sh
# mkdeb.sh — assemble the vcompc Debian package with dpkg-deb (`make deb`).
#
# usage: tools/mkdeb.sh STAGE OUTDIR
#
# STAGE is a tree that `make install DESTDIR=STAGE PREFIX=/usr` filled
# (vcompc, /usr/lib/vcomp/libvcrt.a and vcomp_table.h, the man pages); this
# script adds the documentation, the examples, the systemd unit template
# and the Debian metadata (packaging/debian/), strips the binary, compresses
# what Debian policy wants compressed, computes Depends, and writes
# OUTDIR/vcompc_VERSION_ARCH.deb.  Prints the package's path.
#
# Depends, honestly: the shared libraries vcompc itself loads, as
# dpkg-shlibdeps finds them, plus what vcompc runs and links with when it
# builds a node binary (compiler/link.c): a C compiler, the C library's
# static archive (libc6-dev), and the static libexpat, libnettle and
# libmbedtls (the peer links' TLS).
#
# Reproducible: file dates are SOURCE_DATE_EPOCH (the last commit's date
# when unset), gzip -n, sorted tar members (dpkg-deb does that), owner root.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 STAGE OUTDIR" >&2; exit 2; }
STAGE=$(cd "$1" && pwd) OUT=$2
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/^#define VCOMP_VERSION "\(.*\)"$/\1/p' runtime/vcrt.h)
ARCH=$(dpkg --print-architecture)
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
DATE=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
DOC=$STAGE/usr/share/doc/vcompc

[ -x "$STAGE/usr/bin/vcompc" ] || { echo "mkdeb: $STAGE/usr/bin/vcompc is missing" >&2; exit 1; }

# The binary and the archive without debugging symbols (the archive keeps
# its symbol table: node binaries link against it).
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$STAGE/usr/bin/vcompc"
strip --strip-debug --remove-section=.comment --enable-deterministic-archives \
    "$STAGE/usr/lib/vcomp/libvcrt.a"
chmod 0644 "$STAGE/usr/lib/vcomp/libvcrt.a" "$STAGE/usr/lib/vcomp/vcomp_table.h"

# Man pages, compressed as policy 12.1 wants.
find "$STAGE/usr/share/man" -type f ! -name '*.gz' -exec gzip -9nf {} +

# Documentation and examples.
install -d "$DOC/examples"
install -m 0644 README.md "$DOC/"
for f in docs/*.md docs/*.svg; do
	install -m 0644 "$f" "$DOC/"
done
for d in examples/*/; do
	n=$(basename "$d")
	install -d "$DOC/examples/$n"
	for f in "$d"*; do
		[ -f "$f" ] && install -m 0644 "$f" "$DOC/examples/$n/"
	done
done
sed -e "s/@VERSION@/$VERSION/" -e "s/@DATE@/$DATE/" packaging/debian/changelog |
    gzip -9n >"$DOC/changelog.gz"
install -m 0644 packaging/debian/copyright "$DOC/copyright"

# The systemd unit template, where units of packages go.
install -D -m 0644 docs/systemd/vcomp@.service \
    "$STAGE/lib/systemd/system/vcomp@.service"

# vcomp(8) documents the node binaries vcompc builds, not a program of the
# package: say so to lintian.
install -D -m 0644 /dev/stdin "$STAGE/usr/share/lintian/overrides/vcompc" <<'EOF2'
# vcomp(8) is the manual of the vcomp-NODE binaries that vcompc builds.
vcompc: spare-manual-page [usr/share/man/man8/vcomp.8.gz]
EOF2

# Depends.
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/debian"
printf 'Source: vcompc\n\nPackage: vcompc\nArchitecture: any\n' >"$T/debian/control"
# (It warns that the binary is not in debian/vcompc/: expected here.)
SHLIBS=$(cd "$T" && dpkg-shlibdeps -O "$STAGE/usr/bin/vcompc" 2>/dev/null)
SHLIBS=${SHLIBS#shlibs:Depends=}
DEPENDS="$SHLIBS, gcc | c-compiler, libc6-dev, libexpat1-dev, nettle-dev, libmbedtls-dev"

# Metadata.
install -d -m 0755 "$STAGE/DEBIAN"
SIZE=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    -e "s/@DEPENDS@/$DEPENDS/" packaging/debian/control.in >"$STAGE/DEBIAN/control"
(cd "$STAGE" && find usr lib -type f -print0 | sort -z | xargs -0 md5sum) \
    >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"

# Every directory 0755, every file 0644 but the program; dates fixed.
find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -type f ! -path "$STAGE/usr/bin/*" -exec chmod 0644 {} +
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$OUT"
DEB=$OUT/vcompc_${VERSION}_$ARCH.deb
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null
echo "$DEB"
