#!/bin/bash
# check-compiler.sh — vcompc's outputs, end to end.
#
# For every example spec (examples/**/*.yaml, examples/**/*.properties,
# examples/**/*.tdsl) and every node of it:
#   - the C is generated twice and must be byte-identical (determinism),
#     and --all -d must give the same bytes as --node;
#   - the C compiles with $CC -std=c17 -Wall -Wextra -Werror together with
#     tests/table_driver.c, and the driver (which also checks the table's
#     invariants) prints node name, component domains, homes and roles that
#     must match the spec as read here, independently, by Python (YAML with
#     python3-yaml; properties and tdsl with the few Tigase keys that
#     decide them, by a small reader of its own);
#   - --emit=json is valid JSON (python3 -m json.tool) and agrees with the
#     driver on domains and roles;
#   - a secret given inline (--cluster-nodes password) appears in no
#     generated file, and NODE.secrets holds it with mode 0600;
#   - -M -MF writes "OUTPUTS: SPEC" with spaces escaped;
#   - a failing run leaves earlier outputs untouched and no temporary file;
#   - a table compiled against a runtime header of another layout version
#     stops at an #error naming both (the table carries the number vcompc
#     was built with, not the header's symbol).
#
# Run by `make check` with VCOMPC, B, SAN and CC in the environment.
# Prints "PASS: ..." / "FAIL: ..." per check, then "N passed, N failed".
set -u
: "${VCOMPC:?VCOMPC must name the vcompc binary}"
CC=${CC:-cc}
SAN=${SAN:-}
PY=/usr/bin/python3
root=$(cd "$(dirname "$0")/.." && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT INT TERM
pass=0 fail=0

ok()   { echo "PASS: $1"; pass=$((pass + 1)); }
bad()  { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

DRIVER_CFLAGS="-std=c17 -Wall -Wextra -Werror"
[ -n "$SAN" ] && DRIVER_CFLAGS="$DRIVER_CFLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined"

# expect.py SPEC FORMAT NODE: prints what the driver must print for the
# checked fields, computed from the spec without vcompc:
#   self NAME / node I NAME / component DOMAIN role=R homes=H1,H2
# sorted like the table (components by domain bytes).
cat >"$W/expect.py" <<'EOF'
import re, sys

def yaml_model(path):
    import yaml
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    nodes = list(doc["nodes"].keys())
    comps = []
    for dom, c in doc["components"].items():
        h = c["home"]
        comps.append((dom, h if isinstance(h, list) else [h]))
    return nodes, comps

def props(path):
    # java.util.Properties, enough of it for the keys read below.
    text = open(path, encoding="utf-8").read()
    lines, cur = [], ""
    for raw in text.split("\n"):
        line = raw.lstrip(" \t\f") if cur else raw.lstrip(" \t\f")
        if not cur and (line.startswith("#") or line.startswith("!")):
            continue
        bs = len(line) - len(line.rstrip("\\"))
        if bs % 2 == 1:
            cur += line[:-1]
            continue
        cur += line
        if cur.strip():
            lines.append(cur)
        cur = ""
    kv = {}
    for l in lines:
        m = re.match(r"((?:\\.|[^=:\s])*)\s*[=:]?\s*(.*)$", l)
        k = re.sub(r"\\(.)", r"\1", m.group(1))
        k = re.sub(r"\[[SsBbLlIiF]\]$", "", k)
        kv[k] = m.group(2).strip()
    return kv

def props_model(path):
    kv = props(path)
    nodes = [e.split(":")[0].strip() for e in kv["--cluster-nodes"].split(",") if e.strip()]
    vhosts = [v.strip() for v in kv.get("--virt-hosts", "").split(",") if v.strip()]
    comps = []
    for k, v in kv.items():
        m = re.match(r"--comp-name-(\d+)$", k)
        if not m or kv.get("--comp-class-" + m.group(1)) != "tigase.cluster.VirtualComponent":
            continue
        name = v
        if name + "/redirect-to" in kv:
            homes = [x.split("@", 1)[1].strip() for x in kv[name + "/redirect-to"].split(",")]
        else:
            homes = [nodes[0]]
        if name + "/fixed-domain" in kv:
            doms = [kv[name + "/fixed-domain"]]
        else:
            doms = [name + "." + vh for vh in vhosts]
        comps += [(d, homes) for d in doms]
    return nodes, comps

def tdsl_tree(path):
    # Tigase's DSL, enough of it for the examples: entries are
    # [key, class, value tokens, children] in file order.
    text = open(path, encoding="utf-8").read()
    toks = [t for t in re.findall(r"'[^']*'|\"[^\"]*\"|#[^\n]*|[{}()\[\],=:\n]|[^\s{}()\[\],=:#'\"]+", text)
            if not t.startswith("#")]
    pos = [0]
    def unq(t):
        return t[1:-1] if t[:1] in "'\"" else t
    def block():
        out = []
        while pos[0] < len(toks) and toks[pos[0]] != "}":
            t = toks[pos[0]]; pos[0] += 1
            if t in ("\n", ","):
                continue
            e = [unq(t), None, [], []]
            if toks[pos[0]] == "=":
                pos[0] += 1
                depth = 0
                while depth > 0 or toks[pos[0]] not in ("\n", "}"):
                    depth += toks[pos[0]] in "[({"
                    depth -= toks[pos[0]] in "])}"
                    e[2].append(toks[pos[0]]); pos[0] += 1
            if toks[pos[0]] == "(":
                while toks[pos[0]] != ")":
                    if toks[pos[0]] == "class":
                        e[1] = unq(toks[pos[0] + 2])
                    pos[0] += 1
                pos[0] += 1
            if toks[pos[0]] == "{":
                pos[0] += 1
                e[3] = block()
                pos[0] += 1
            out.append(e)
        return out
    return block()

def tdsl_model(path):
    top = tdsl_tree(path)
    get = lambda es, k: next((e for e in es if e[0] == k), None)
    strs = lambda e: [x.strip() for t in e[2] if t[:1] in "'\"" for x in t[1:-1].split(",") if x.strip()]
    vc = get(top, "vcomp")
    cn = get(top, "cluster-nodes")
    nodes = [x.split(":")[0] for x in strs(cn)] if cn else [e[0] for e in get(vc[3], "node")[3]]
    vh = get(top, "virtual-hosts") or get(top, "default-virtual-host")
    vhosts = strs(vh) if vh else []
    comps = []
    for e in top:
        if e[1] != "tigase.cluster.VirtualComponent":
            continue
        r = get(e[3], "redirect-to")
        homes = [x.split("@", 1)[-1] for x in strs(r)] if r else [nodes[0]]
        f = get(e[3], "fixed-domain")
        doms = strs(f) if f else [e[0] + "." + v for v in vhosts]
        comps += [(d, homes) for d in doms]
    return nodes, comps

path, fmt, node = sys.argv[1:4]
nodes, comps = (yaml_model(path) if fmt == "yaml" else
                tdsl_model(path) if fmt == "tdsl" else props_model(path))
print("self", node)
for i, n in enumerate(nodes):
    print("node", i, n)
for dom, homes in sorted(comps, key=lambda c: c[0].encode()):
    print("component", dom, "role=" + ("home" if node in homes else "virtual"),
          "homes=" + ",".join(homes))
EOF

# The same fields, from the driver's output.
driver_fields() {
	awk '$1 == "self" { print "self", $3 }
	     $1 == "node" { print "node", $2, $3 }
	     $1 == "component" { r = ""; h = "";
		for (i = 4; i <= NF; i++) {
			if ($i ~ /^role=/) r = $i; if ($i ~ /^homes=/) h = $i }
		print "component", $3, r, h }' "$1"
}

# Domains and roles from --emit=json, as "DOMAIN ROLE" lines.
json_roles() {
	$PY -c 'import json,sys
for c in json.load(open(sys.argv[1]))["components"]:
    print(c["domain"], c["role"])' "$1"
}

have_yaml=1
$PY -c 'import yaml' 2>/dev/null || have_yaml=0
[ $have_yaml = 1 ] || echo "SKIPPED: spec cross-check of YAML examples: python3-yaml is missing (apt-get install python3-yaml)"

# examples/bad/ holds specs with mistakes on purpose (tests/check-examples.sh).
specs=$(cd "$root" && find examples -path examples/bad -prune -o -type f \( -name '*.yaml' -o -name '*.properties' -o -name '*.tdsl' \) -print | LC_ALL=C sort)
[ -n "$specs" ] || bad "there are example specs to check"

for spec in $specs; do
	case $spec in *.properties) fmt=properties ;; *.tdsl) fmt=tdsl ;; *) fmt=yaml ;; esac
	s="$W/s"; rm -rf "$s"; mkdir -p "$s/json" "$s/all"
	if ! (cd "$root" && "$VCOMPC" --check "$spec") >"$s/check.err" 2>&1; then
		bad "$spec: --check"; sed 's/^/    /' "$s/check.err"; continue
	fi
	ok "$spec: --check"
	if ! (cd "$root" && "$VCOMPC" --all --emit=json -d "$s/json" "$spec") 2>"$s/err"; then
		bad "$spec: --all --emit=json"; sed 's/^/    /' "$s/err"; continue
	fi
	check "$spec: --all -c" \
		sh -c 'cd "$1" && "$2" --all -c -d "$3" "$4"' _ "$root" "$VCOMPC" "$s/all" "$spec"
	nodes=$($PY -c 'import json,sys; print(" ".join(n["name"] for n in json.load(open(sys.argv[1]))["nodes"]))' \
		"$(ls "$s"/json/*.json | head -n 1)")
	for n in $nodes; do
		t="$spec[$n]"
		d="$s/$n"; mkdir -p "$d"
		(cd "$root" && "$VCOMPC" -c --node "$n" -o "$d/a.c" "$spec" &&
		    "$VCOMPC" -c --node "$n" -o "$d/b.c" "$spec") 2>"$d/err"
		check "$t: C generated twice is byte-identical" cmp -s "$d/a.c" "$d/b.c"
		check "$t: --all gives the same C as --node" cmp -s "$d/a.c" "$s/all/$n.c"
		check "$t: --emit=json is valid JSON" \
			sh -c '"$1" -m json.tool "$2" >/dev/null' _ "$PY" "$s/json/$n.json"
		if ! $CC $DRIVER_CFLAGS -I"$root/runtime" "$root/tests/table_driver.c" \
		    "$d/a.c" -o "$d/driver" 2>"$d/cc.err"; then
			bad "$t: table compiles with -Wall -Wextra -Werror"
			sed 's/^/    /' "$d/cc.err" | head -n 20
			continue
		fi
		ok "$t: table compiles with -Wall -Wextra -Werror"
		if ! "$d/driver" >"$d/driver.out" 2>&1; then
			bad "$t: table driver (invariants)"; grep -E '^invariant|runtime error' "$d/driver.out"
			continue
		fi
		ok "$t: table driver (invariants)"
		driver_fields "$d/driver.out" >"$d/got"
		if [ $fmt = yaml ] && [ $have_yaml = 0 ]; then
			:
		elif $PY "$W/expect.py" "$root/$spec" $fmt "$n" >"$d/want" 2>"$d/py.err"; then
			if cmp -s "$d/want" "$d/got"; then
				ok "$t: node, domains, homes and roles match the spec"
			else
				bad "$t: node, domains, homes and roles match the spec"
				diff -u "$d/want" "$d/got" | head -n 20
			fi
		else
			bad "$t: spec readable by the cross-check"; head -n 5 "$d/py.err"
		fi
		awk '$1 == "component" { print $3, substr($5, 6) }' "$d/driver.out" >"$d/roles.c"
		json_roles "$s/json/$n.json" >"$d/roles.json"
		check "$t: JSON and C agree on domains and roles" cmp -s "$d/roles.c" "$d/roles.json"
	done
done

# ------------------------------------------------------------------ secrets
# A Tigase file with the cluster secret inline.  The secret must reach
# NODE.secrets (0600) and nothing else.
sd="$W/secrets"; mkdir -p "$sd/out" "$sd/one"
secret='S3cr3t-inline-Value'
cat >"$sd/init.properties" <<EOF
--virt-hosts=example.test
--cluster-nodes=node1:$secret:5277,node2:$secret:5278
--comp-name-1=muc
--comp-class-1=tigase.cluster.VirtualComponent
muc/redirect-to=muc@node1
vcomp/node/node2/server=127.0.0.2:5347
vcomp/node/node2/listen=127.0.0.2:5348
vcomp/component/muc/secret-env=MUC_SECRET
EOF
if (cd "$sd" && "$VCOMPC" -w --all -c -d out init.properties &&
    "$VCOMPC" -w --all --emit=json -d out init.properties &&
    "$VCOMPC" -w -c --node node2 -o one/node2.c -M -MF one/node2.d init.properties) 2>"$sd/err"; then
	ok "inline secret: spec compiles"
	check "inline secret: in no generated file" \
		sh -c '! grep -rlF -- "$1" "$2"/out/*.c "$2"/out/*.json "$2"/one/*.c "$2"/one/*.d' _ "$secret" "$sd"
	for n in node1 node2; do
		f="$sd/out/$n.secrets"
		check "inline secret: $n.secrets is mode 0600" \
			sh -c '[ "$(stat -c %a "$1")" = 600 ]' _ "$f"
		check "inline secret: $n.secrets holds cluster=SECRET" \
			grep -qxF "cluster=$secret" "$f"
	done
	check "inline secret: -o puts NODE.secrets beside the output" \
		test -f "$sd/one/node2.secrets"
	check "inline secret: table refers to the bundle key" \
		grep -qF '{ VC_SECRET_BUNDLE, "cluster" }' "$sd/out/node1.c"
	check "inline secret: JSON says where it is" \
		grep -qF '"cluster_secret": "inline (in node1.secrets)"' "$sd/out/node1.json"
else
	bad "inline secret: spec compiles"; sed 's/^/    /' "$sd/err"
fi

# ------------------------------------------------------------------ -M
md="$W/dep"; mkdir -p "$md/out dir"
cp "$root/tests/unit/fixture.yaml" "$md/my spec.yaml"
if (cd "$md" && "$VCOMPC" --all -c -d "out dir" -M -MF "out dir/deps.d" "my spec.yaml" &&
    "$VCOMPC" -c --node node2 -o n2.c -MF n2.d "my spec.yaml") 2>"$md/err"; then
	printf '%s\n' 'out\ dir/node1.c out\ dir/node2.c: my\ spec.yaml' >"$md/want1"
	printf '%s\n' 'n2.c: my\ spec.yaml' >"$md/want2"
	check "-M --all: one rule, spaces escaped" cmp -s "$md/want1" "$md/out dir/deps.d"
	check "-MF with --node" cmp -s "$md/want2" "$md/n2.d"
else
	bad "-M: vcompc ran"; sed 's/^/    /' "$md/err"
fi

# ------------------------------------------------------------------ failures
# An output that exists is left alone when the run fails, and no
# temporary file is left behind.
fd="$W/fail"; mkdir -p "$fd/out"
cp "$root/tests/unit/fixture.yaml" "$fd/ok.yaml"
sed 's/home: node1/home: nodeX/' "$fd/ok.yaml" >"$fd/broken.yaml"
echo "previous" >"$fd/node1.c"
(cd "$fd" && "$VCOMPC" -c --node node1 -o node1.c broken.yaml) 2>/dev/null
rc=$?
check "failed run: exit status 1" test $rc = 1
check "failed run: earlier output untouched" grep -qx previous "$fd/node1.c"
# A link that fails half way through --all (node1 links, node2 does not)
# writes no binary at all.  The runtime library is found beside vcompc.
cat >"$fd/cc.sh" <<'EOF2'
case "$*" in *vcomp-node2*) echo "cc.sh: refusing node2" >&2; exit 1 ;; esac
exec ${REAL_CC:-cc} "$@"
EOF2
# A sanitizer build's libvcrt.a links only dynamically, with the
# sanitizers.
link_env=
[ -n "$SAN" ] && link_env="VCOMP_STATIC=0 VCOMP_EXTRA_CFLAGS=-fsanitize=address,undefined"
(cd "$fd" && env -u VCOMP_LIBDIR $link_env REAL_CC="$CC" CC="sh $fd/cc.sh" \
    "$VCOMPC" --all -d out ok.yaml) 2>"$fd/link.err"
check "failed link: the C compiler ran and failed on node2" \
	grep -q "cc.sh: refusing node2" "$fd/link.err"
check "failed link: nothing written" sh -c '[ -z "$(ls -A "$1/out")" ]' _ "$fd"
check "failed runs: no temporary file left" \
	sh -c '[ -z "$(find "$1" -name ".*" ! -name . )" ]' _ "$fd"

# ------------------------------------------------------------------ layout
# A table from this vcompc against a runtime whose vcomp_table.h has moved
# on (here: the same header with VCOMP_TABLE_VERSION bumped) must not
# compile, and the error must say why.
vd="$W/version"; mkdir -p "$vd/inc"
sed 's/^#define VCOMP_TABLE_VERSION \([0-9]*\)$/#define VCOMP_TABLE_VERSION 999/' \
    "$root/runtime/vcomp_table.h" >"$vd/inc/vcomp_table.h"
check "layout: the test header differs in its version only" \
	sh -c '[ "$(diff "$1" "$2" | grep -c "^[<>]")" = 2 ]' _ \
	"$root/runtime/vcomp_table.h" "$vd/inc/vcomp_table.h"
if (cd "$vd" && "$VCOMPC" -c --node node1 -o t.c "$root/tests/unit/fixture.yaml") 2>"$vd/err"; then
	check "layout: the table compiles against its own header" \
		$CC -std=c17 -Wall -Wextra -Werror -I"$root/runtime" -c -o "$vd/ok.o" "$vd/t.c"
	$CC -std=c17 -I"$vd/inc" -c -o "$vd/bad.o" "$vd/t.c" 2>"$vd/cc.err"
	check "layout: another runtime layout refuses the table" test $? != 0
	check "layout: the #error names the table's layout" \
		grep -q "#error \"table layout [0-9]* (vcompc .*) does not match this runtime's vcomp_table.h\"" "$vd/cc.err"
else
	bad "layout: vcompc ran"; sed 's/^/    /' "$vd/err"
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
