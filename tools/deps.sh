#!/bin/sh
# deps.sh — install the Debian packages vcomp needs to build and test.
# Idempotent: installs only what is missing.  As root it runs apt-get;
# otherwise it prints the command to run and fails if anything is missing.
# usage: tools/deps.sh [build|all]
set -eu

build_pkgs="gcc make flex bison pkg-config libyaml-dev libxml2-dev \
libcunit1-dev libexpat1-dev nettle-dev libmbedtls-dev file"
# Tests: real XMPP servers (Prosody; ejabberd, whose two-node cluster
# tests servers: clustered), a real client library, the fuzzers' runtime,
# a Java for the properties differential test, a man page linter; curl,
# a real Prometheus (and its promtool) for the metrics, Graphviz for the
# cluster pictures, lintian for the Debian package, a YAML parser for the
# CI examples.
test_pkgs="prosody lua-unbound ejabberd python3-slixmpp clang \
libclang-rt-14-dev mandoc procps curl prometheus graphviz lintian python3-yaml"

want=$build_pkgs
[ "${1:-all}" = all ] && want="$want $test_pkgs"

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
# Java: any JRE will do for the differential test; install one only if
# there is no java on the PATH at all.
if [ "${1:-all}" = all ] && ! command -v java >/dev/null 2>&1; then
	missing="$missing default-jre-headless"
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root: apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Without a package list (fresh machine) apt-get install finds nothing.
if ! apt-get install -y --no-install-recommends $missing; then
	apt-get update
	apt-get install -y --no-install-recommends $missing
fi
