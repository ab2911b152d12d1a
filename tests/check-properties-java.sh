#!/bin/bash
# check-properties-java.sh — differential test of vcompc's properties
# scanner against java.util.Properties itself.
#
# For every file of a corpus of tricky inputs (written below into a temp
# dir) and examples/tigase/init.properties, tests/java/DumpProps.java prints
# what Properties.load(Reader over UTF-8) read, sorted; `vcompc --emit=keys`
# prints every logical key in file order, of which the last occurrence of
# each key is kept and sorted the same way.  The two must be identical.
# Files Java rejects (malformed \uXXXX) must make vcompc fail too.
#
# Needs java (any JDK 11+, single-file source mode); without it the test
# says SKIPPED and passes, since CI installs one (tools/deps.sh).
set -u
: "${VCOMPC:?VCOMPC must name the vcompc binary}"
root=$(cd "$(dirname "$0")/.." && pwd)
dump="$root/tests/java/DumpProps.java"

if ! command -v java >/dev/null 2>&1; then
	echo "************************************************************"
	echo "SKIPPED: java not found (apt-get install default-jre-headless)"
	echo "************************************************************"
	echo "0 passed, 0 failed"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
c="$tmp/corpus"
mkdir -p "$c"
w() { printf -- "$2" >"$c/$1.properties"; }

# ---- separators and white space
w sep-equals 'a=b\nc = d\ne\t=\tf\ng\f=\fh\n'
w sep-colon 'a:b\nc : d\ne::f\ng:=h\ni=:j\n'
w sep-space 'a b\nc\td\ne\ff\ng   h  i  \nj =  = k\n'
w sep-none 'alone\n  indented\n\ttabbed\nempty=\nempty2:\nempty3 \n'
w empty-key '=v\n:w\n =x\n'
w trailing-ws 'k=v   \nk2 = v2\t\n'
# ---- escapes
w esc-key '\\=a\\:b\\ c\\#d=1\n\\!e=2\nf\\=g=3\n'
w esc-value 'k=\\t\\n\\r\\f\\\\\\q\\z\\ \\=\\:\n'
w esc-unicode 'a=\\u0041\\u00e9\\u20AC\\u00E9\nb=\\uD83D\\uDE00\nc\\u0020d=e\n\\u0041=f\n'
w esc-utf8 'kl\xc3\xa9=\xe2\x82\xac \xf0\x9f\x98\x80\nk\\\xc3\xa9=\\\xe2\x82\xac\n'
w esc-controls 'k=a\\u0001b\\u001fc\\u007f\n'
# ---- continuations
w cont-value 'k=one \\\n    two \\\n\tthree\nnext=1\n'
w cont-key 'ke\\\n   y=v\nsp\\\n  \\\n  lit=w\n'
w cont-sep 'k \\\n  = v\nk2=\\\n  v2\nk3 :\\\n\\\n  v3\n'
w cont-uesc 'k=\\u00\\\n   41\nk2=\\u\\\n0042\n'
w cont-even 'k=a\\\\\nb=c\nk3=d\\\\\\\n   e\n'
w cont-blank 'k=a\\\n\nb=c\nk2=x\\\n   \nz=1\n'
w cont-comment 'k=a\\\n#not a comment\n# a comment \\\nstill=key\n! bang \\\nalso=key\n'
w cont-empty-line '\\\n#comment after empty continuation\nk=v\n\\\n\\\nk2=v2\n'
w cont-eof 'k=v\\'
w cont-eof-nl 'k=v\\\n'
w cont-eof-ws 'k=v\\\n   '
w lone-bs-eof 'k=v\n\\'
w lone-bs-eof-nl 'k=v\n\\\n'
w lone-bs-eof-cr 'k=v\n\\\r'
w lone-bs-eof-crlf 'k=v\n\\\r\n'
w lone-bs-ws-eof 'k=v\n\\\n   '
# ---- line ends
w crlf 'a=b\r\nc=d\\\r\n   e\r\n#x\r\n\r\nf=g\r\n'
w cr-only 'a=b\rc=d\\\r   e\r#x\r\rf=g\r'
w mixed-eol 'a=1\nb=2\r\nc=3\rd=4\\\r\n e\\\n f\\\r g\n'
w no-final-nl 'a=1\nb=2'
w crlf-split 'a=b\r\r\nc=d\n'
# ---- comments and blank lines
w comments '#c1\n!c2\n   # c3\n\t! c4\n\n   \n\f\nk=v # not a comment\n#\n!\n'
w comment-bs '# ends with a backslash \\\nk=v\n! also \\\\\\\nk2=v2\n'
# ---- duplicates, Tigase-looking keys
w duplicates 'k=1\nk=2\nk = 3\nother=x\nk:4\n'
w tigase-keys '--cluster-mode=true\nsess-man/plugins-conf/urn\\:xmpp\\:ping/x[B]=true\nc2s/connections/ports[i]=5222,5223\n-Dfoo=bar\n'
# ---- the examples
cp "$root/examples/tigase/init.properties" "$c/example-init.properties"

# Files java.util.Properties rejects.
bad="$tmp/bad"
mkdir -p "$bad"
printf 'k=\\u12\n' >"$bad/uesc-short.properties"
printf 'k=\\u12G4\n' >"$bad/uesc-nonhex.properties"
printf '\\u00=x\n' >"$bad/uesc-key.properties"
printf 'k=\\u004\n1\n' >"$bad/uesc-eol.properties"

# Single-file mode compiles DumpProps on every run (about 2 s); with a
# javac at hand, compile it once.
jrun=(java "$dump")
if command -v javac >/dev/null 2>&1 && javac -d "$tmp/classes" "$dump" 2>/dev/null; then
	jrun=(java -cp "$tmp/classes" DumpProps)
fi

pass=0 fail=0
for f in "$c"/*.properties; do
	n=$(basename "$f" .properties)
	if ! "${jrun[@]}" "$f" >"$tmp/java.out" 2>"$tmp/java.err"; then
		echo "FAIL $n: java rejected it:"; cat "$tmp/java.err"
		fail=$((fail + 1)); continue
	fi
	if ! "$VCOMPC" --emit=keys "$f" >"$tmp/vc.raw" 2>"$tmp/vc.err"; then
		echo "FAIL $n: vcompc rejected it:"; cat "$tmp/vc.err"
		fail=$((fail + 1)); continue
	fi
	# {"line":N,"key":K,"value":V} -> {"key":K,"value":V}, last per key.
	# The key ends at the first '","value":"': a '"' inside a key is
	# always escaped as \".
	sed 's/^{"line":[0-9]*,/{/' "$tmp/vc.raw" | awk '
		{ k = substr($0, 1, index($0, "\",\"value\":\"")); last[k] = $0 }
		END { for (k in last) print last[k] }' |
		LC_ALL=C sort >"$tmp/vc.out"
	LC_ALL=C sort "$tmp/java.out" >"$tmp/java.sorted"
	if cmp -s "$tmp/java.sorted" "$tmp/vc.out"; then
		pass=$((pass + 1))
	else
		echo "FAIL $n: vcompc and java.util.Properties differ (- java, + vcompc)"
		diff -u "$tmp/java.sorted" "$tmp/vc.out" | head -20
		fail=$((fail + 1))
	fi
done
for f in "$bad"/*.properties; do
	n=$(basename "$f" .properties)
	"${jrun[@]}" "$f" >/dev/null 2>&1; jrc=$?
	"$VCOMPC" --emit=keys "$f" >/dev/null 2>"$tmp/vc.err"; vrc=$?
	if [ $jrc != 0 ] && [ $vrc = 1 ] && grep -q 'error: malformed' "$tmp/vc.err"; then
		pass=$((pass + 1))
	else
		echo "FAIL $n: java exit $jrc, vcompc exit $vrc (both must reject)"
		cat "$tmp/vc.err"
		fail=$((fail + 1))
	fi
done
echo "properties vs java: $pass passed, $fail failed"
[ $fail = 0 ]
