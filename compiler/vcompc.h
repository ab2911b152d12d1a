/*
 * vcompc.h — the compiler's one internal header.
 *
 * vcompc is a one-shot program: it reads one spec, checks it, writes its
 * outputs and exits.  All memory that describes the spec (the IR, every
 * string in it, every diagnostic position) comes from one arena (util.c) that
 * is released in one go at exit; nothing in the IR is freed individually, so
 * no function below documents ownership of IR memory.  Memory that does not
 * belong to the IR (libyaml and libxml2 objects, stdio buffers) is owned and
 * freed by the function that creates it.
 *
 * Exports are grouped by the file that defines them.
 */
#ifndef VCOMPC_H
#define VCOMPC_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "jid.h"	/* runtime/jid.h, shared with the runtime */
#include "vcomp_table.h"	/* VC_LIMITS, the table's layout version */

#define VCOMPC_VERSION "0.1.0"

/* ---------------------------------------------------------------- limits */

/* Largest spec file vcompc reads.  Real specs are a few KB; 10 000
 * components in YAML are about 2 MB.  A bigger file is almost certainly the
 * wrong file, and refusing it keeps memory bounded. */
#define VC_MAX_SPEC_BYTES   (16u * 1024 * 1024)
/* RFC 7622 §3.1: every part of a JID is 1..1023 octets. */
#define VC_MAX_JID_PART     JID_MAX_PART
/* Most YAML nodes a document may expand to through aliases (alias bombs). */
#define VC_MAX_YAML_NODES   1000000u
/* Deepest nesting of YAML lists and mappings.  A spec needs 5 levels;
 * libyaml's scanner costs time quadratic in the flow depth (it rescans
 * every open level per token), so depth is bounded before it matters. */
#define VC_MAX_YAML_DEPTH   64
/* Most nodes and components in one cluster.  Node indexes are uint16_t in
 * the generated table and on the peer link. */
#define VC_MAX_NODES        1024
#define VC_MAX_COMPONENTS   65535

/* Runtime defaults, documented in docs/spec-reference.md. */
#define VC_DEFAULT_SERVER_HOST     "127.0.0.1"
#define VC_DEFAULT_SERVER_PORT     5347   /* XEP-0114 port of the local server */
#define VC_DEFAULT_PEER_PORT       5277   /* Tigase's cluster port */
#define VC_DEFAULT_LISTEN_HOST     "127.0.0.1"
#define VC_DEFAULT_LISTEN_PORT     5348   /* where real components connect */
/* The limits' defaults are in VC_LIMITS (runtime/vcomp_table.h). */

/* Tigase's VirtualComponent defaults (tigase.cluster.VirtualComponent). */
#define VC_TIGASE_DISCO_NAME     "Multi User Chat"
#define VC_TIGASE_DISCO_CATEGORY "conference"
#define VC_TIGASE_DISCO_TYPE     "text"
#define VC_TIGASE_DISCO_FEATURES "http://jabber.org/protocol/muc"
#define VC_TIGASE_VIRTUAL_CLASS  "tigase.cluster.VirtualComponent"

#define VC_NS_DISCO_INFO "http://jabber.org/protocol/disco#info"

/* ---------------------------------------------------------------- util.c */

/*
 * Out of memory is handled one way in vcompc, wherever it happens (the
 * arena, heap buffers, libyaml, libxml2, the properties scanner, stdio
 * memstreams): oom() prints "vcompc: out of memory" and exits 1.  A
 * one-shot compiler has nothing to save, and every output is still a
 * temporary file that the exit handler removes (main.c).
 */
void oom(void) __attribute__((noreturn));
/* A command-line mistake: "CMD: message", the hint to run CMD --help,
 * exit 2 (cmd is "vcompc" or "vcompc plan"). */
void cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* Arena allocation for everything the IR holds.  These never return NULL
 * (oom()). */
void *xmalloc(size_t n);            /* zeroed */
/* Grows an array that was created by xrealloc(NULL, 0, n) (or IR_PUSH):
 * capacity is kept in powers of two, so sizes must only grow and `old`
 * must be the true previous size.  Never pass it memory from xmalloc. */
void *xrealloc(void *p, size_t old, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void arena_release(void);           /* frees every arena block */

/* A growable byte buffer (heap, not arena: it is for output). */
struct buf {
	char *data;
	size_t len, cap;
};
void buf_add(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void buf_free(struct buf *b);

/* A string -> index map (open addressing, arena memory) for the front
 * ends' name lookups, which must stay linear in the spec's size. Keys are
 * not copied: they must outlive the map (arena strings do). */
struct strmap {
	const char **keys;
	size_t *lens, *vals;
	size_t cap, n;
};
/* Returns true and sets *val if key[0..len) is in the map. */
bool strmap_get(const struct strmap *m, const char *key, size_t len,
		size_t *val);
/* Inserts or replaces. */
void strmap_put(struct strmap *m, const char *key, size_t len, size_t val);

/* Reads a whole file into the arena, NUL-terminated.  Returns NULL after
 * reporting the reason as a diagnostic (missing, unreadable, a directory,
 * larger than VC_MAX_SPEC_BYTES). *len receives the byte count. */
char *read_spec_file(const char *path, size_t *len);

/* A NUL byte means a binary file, or UTF-16 or UTF-32 text, which a spec
 * must not be: reports one error at the first NUL (`what` names the kind
 * of file, "a properties file") and returns false; true if there is none. */
bool text_check_nul(const char *path, const char *text, size_t len,
		    const char *what);

/* Fatal helpers in the err(3) style: "vcompc: message" and exit(code). */
void die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* ---------------------------------------------------------------- diag.c */

/* A position in a spec file.  line and col are 1-based; col counts bytes.
 * file is interned (arena) and shared by all positions of one file.
 * line == 0 means "the whole file" (printed as "file: error: ..."). */
struct pos {
	const char *file;
	int line, col;
};

enum diag_level { DIAG_NOTE, DIAG_WARNING, DIAG_ERROR };

/* Prints "file:line:col: level: message" on stderr.  check, when not NULL,
 * is the name of the named check or warning option that produced it and is
 * appended as " [name]" so tests and users can tell checks apart. */
void diag(enum diag_level lvl, const struct pos *p, const char *check,
	  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void vdiag(enum diag_level lvl, const struct pos *p, const char *check,
	   const char *fmt, va_list ap);
#define error_at(p, ...)   diag(DIAG_ERROR, (p), NULL, __VA_ARGS__)
#define warning_at(p, ...) diag(DIAG_WARNING, (p), NULL, __VA_ARGS__)
#define note_at(p, ...)    diag(DIAG_NOTE, (p), NULL, __VA_ARGS__)

/* Errors reported so far.  Warnings never count here, not even with
 * -Werror: a front end or a check that only warned has succeeded, and the
 * steps after it still run, so that every error is reported. */
int diag_error_count(void);
int diag_warning_count(void);
/* True when the run must fail (exit 1): errors, or warnings with -Werror. */
bool diag_failed(void);
/* -Werror: warnings count as errors for the exit status. */
extern bool diag_werror;
/* -Wunused: list ignored Tigase keys. */
extern bool diag_wunused;
/* -w: suppress warnings. */
extern bool diag_nowarn;

/* ------------------------------------------------------------------ IR */

/* Every scalar the spec gives carries where it came from, so checks can
 * point at it.  s == NULL means "not given".  verbatim: s is the spec's
 * own bytes, on one line from pos on (no escape, quote or continuation in
 * between), so byte k of s is at column pos.col + k; otherwise (escapes,
 * a multi-line value, an alias, a value vcompc derived or defaulted) a
 * problem inside s can only be reported at pos. */
struct ir_str {
	char *s;
	struct pos pos;
	bool verbatim;
};

/* Where byte off of s is: pos.col + off when s is verbatim, else pos. */
struct pos ir_str_at(const struct ir_str *s, size_t off);

enum secret_kind {
	SECRET_NONE = 0,  /* not given */
	SECRET_FILE,      /* ref = path of a file holding the secret */
	SECRET_ENV,       /* ref = name of an environment variable */
	SECRET_INLINE,    /* ref = the secret itself (Tigase --cluster-nodes
	                   * password).  Never emitted: vcompc writes it to the
	                   * node's 0600 secrets file instead. */
};

struct ir_secret {
	enum secret_kind kind;
	struct ir_str ref;
	struct pos pos;   /* of the key that named the source */
};

struct ir_endpoint {
	struct ir_str host;   /* IPv4, IPv6 (no brackets) or a DNS name */
	int port;             /* 0 = not given */
	struct pos pos;       /* of the value, for diagnostics */
};

struct ir_node {
	struct ir_str name;            /* as used in homes / redirect-to */
	struct ir_endpoint server;     /* local XMPP server, XEP-0114 port */
	struct ir_endpoint peer;       /* peer link: listen and dial address */
	struct ir_endpoint listen;     /* home listener for real components */
	struct ir_endpoint stats;      /* optional loopback stats listener */
};

struct ir_identity {
	struct ir_str category, type, name, lang;
	struct pos pos;
};

enum disco_mode { DISCO_LOCAL = 0, DISCO_FORWARD };
enum peer_enc { PEER_ENC_TLS = 0, PEER_ENC_NONE };
/* What the nodes' XMPP servers are (cluster: servers:): independent
 * servers that share nothing (Prosody), or one clustered server that
 * routes a component domain cluster-wide (ejabberd, Tigase, MongooseIM). */
enum servers_kind { SERVERS_INDEPENDENT = 0, SERVERS_CLUSTERED };

struct ir_component {
	struct ir_str name;        /* Tigase component name, e.g. "muc" */
	struct ir_str domain;      /* e.g. "muc.example.test" */
	struct ir_str *homes;      /* ordered node names (failover order) */
	size_t nhomes;
	struct ir_identity *ids;
	size_t nids;
	struct ir_str *features;
	size_t nfeatures;
	struct ir_str disco_node;  /* optional */
	enum disco_mode disco;
	struct pos disco_pos;
	struct ir_secret secret;   /* XEP-0114 secret, for the upstream and for
	                            * the real component on its home */
	/* More secrets the home also accepts from the real component during
	 * a rotation (the rest of a `secret: [...]` list); secret above is
	 * the first, the one the upstream handshake uses. */
	struct ir_secret *accept;
	size_t naccept;
	struct pos pos;            /* where the component was declared */
	/* disco.c's memo of the rendered <query/> (index 0: without the
	 * node attribute, 1: with it); NULL until disco_query() is asked.
	 * Not part of the spec: a cache the disco-size check and the C back
	 * end share, so each response is rendered once per run. */
	const char *query_memo[2];
	size_t query_memo_len[2];
	/* Filled by compat_compute() (compat.c) after the front end. */
	uint32_t id;               /* identity on the peer links */
	uint8_t compat[32];        /* what two nodes must agree on to forward it */
};

/* The limits as the spec sets them: the fields of struct vc_limits, from
 * the one list in runtime/vcomp_table.h.  LIM_field indexes the list
 * (spec->limits_pos, limit_names[]) in the same order. */
#define IR_LIMIT_FIELD_(field, type, key, kind, def, what) type field;
struct ir_limits {
	VC_LIMITS(IR_LIMIT_FIELD_)
};
#undef IR_LIMIT_FIELD_

#define IR_LIMIT_INDEX_(field, type, key, kind, def, what) LIM_##field,
enum limit_index {
	VC_LIMITS(IR_LIMIT_INDEX_)
	LIM_COUNT
};
#undef IR_LIMIT_INDEX_

struct ir_spec {
	const char *path;              /* as given on the command line */
	enum { FMT_PROPERTIES, FMT_YAML, FMT_TDSL } format;
	struct ir_node *nodes;
	size_t nnodes;
	struct ir_component *components;
	size_t ncomponents;
	struct ir_secret cluster_secret;
	/* More cluster secrets accepted during a rotation (the rest of a
	 * `secret: [...]` list); cluster_secret proves, any of them is
	 * accepted. */
	struct ir_secret *cluster_accept;
	size_t ncluster_accept;
	enum peer_enc peer_encryption; /* default PEER_ENC_TLS */
	struct pos peer_encryption_pos; /* line 0 when defaulted */
	enum servers_kind servers;     /* SERVERS_INDEPENDENT by default */
	struct ir_limits limits;
	struct pos limits_pos[LIM_COUNT]; /* positions of the limit keys,
	                                * by enum limit_index; line 0 when
	                                * defaulted */
};

/* Appends a zeroed element to an arena array and returns it. */
#define IR_PUSH(arr, n) \
	((arr) = xrealloc((arr), sizeof *(arr) * (n), sizeof *(arr) * ((n) + 1)), \
	 &(arr)[(n)++])

/* Sets every field of spec->limits to its default (VC_LIMITS). */
void ir_limits_default(struct ir_limits *l);
/* Limit k (enum limit_index) of l, widened. */
uint64_t ir_limit_get(const struct ir_limits *l, enum limit_index k);

/* ------------------------------------------------------------ values.c */

/* Value parsers shared by both front ends.  Each reports its own error at
 * v->pos, naming `key` (the spec key the value belongs to), and returns
 * false on error. */
bool parse_endpoint(const char *key, const struct ir_str *v,
		    struct ir_endpoint *out);
bool parse_size(const char *key, const struct ir_str *v, uint64_t max,
		uint64_t *out);
bool parse_duration_ms(const char *key, const struct ir_str *v,
		       uint32_t *out);
bool parse_uint(const char *key, const struct ir_str *v, uint64_t max,
		uint64_t *out);
/* "local" or "forward" (with a "did you mean" hint otherwise). */
bool parse_disco_mode(const char *key, const struct ir_str *v,
		      enum disco_mode *out);
/* "independent" or "clustered". */
bool parse_servers(const char *key, const struct ir_str *v,
		   enum servers_kind *out);

/* "tls" or "none" (with a "did you mean" hint otherwise). */
bool parse_peer_encryption(const char *key, const struct ir_str *v,
			   enum peer_enc *out);

/* The limits both formats share, by key name ("queue-bytes", ...).
 * limit_set parses v into the field the key names and records its
 * position; it returns false with *known = false for an unknown key (the
 * caller reports it, with did_you_mean over limit_names), and false with
 * *known = true after reporting a bad value. */
extern const char *const limit_names[LIM_COUNT];
extern const size_t nlimit_names;

/* The `vcomp/` vocabulary both Tigase front ends (init.properties and
 * config.tdsl) read beside Tigase's own keys: per node
 * (vcomp/node/NODE/KEY) and per component (vcomp/component/NAME/KEY). */
enum vcomp_nkey { VNK_SERVER, VNK_PEER, VNK_LISTEN, VNK_STATS, NKEY_N };
extern const char *const nkey_names[NKEY_N];
enum vcomp_ckey {
	VCK_SECRET_FILE, VCK_SECRET_ENV, VCK_PREV_FILE, VCK_PREV_ENV, VCK_DISCO,
	VCK_N
};
extern const char *const ckey_names[VCK_N];
/* Every `vcomp/` key a spec with these nodes and the named components
 * could hold, for did_you_mean (blocks: also "vcomp/node" and
 * "vcomp/component", the tdsl block names).  The array and its strings
 * live in the arena. */
const char **vcomp_key_candidates(const struct ir_spec *spec,
				  const char *const *comps, size_t ncomps,
				  bool blocks, size_t *n);
/* How limit k is written in a spec, for the back ends' comments. */
enum limit_kind { LIMIT_SIZE, LIMIT_TIME, LIMIT_COUNT };
extern const enum limit_kind limit_kinds[LIM_COUNT];
/* A few words on what limit k bounds (VC_LIMITS' WHAT). */
extern const char *const limit_whats[LIM_COUNT];
/* The C field name of limit k ("queue_bytes"). */
extern const char *const limit_fields[LIM_COUNT];
bool limit_set(struct ir_spec *spec, const char *key, const struct ir_str *v,
	       bool *known);

/* The closest candidate to word by edit distance, or NULL if none is
 * close enough to be a plausible typo. */
const char *did_you_mean(const char *word, const char *const *cands, size_t n);

/* Applies the defaults both formats share to every node (server, peer,
 * listen; see docs/spec-reference.md).  Call after the front end. */
void ir_apply_node_defaults(struct ir_spec *spec);

/* ------------------------------------------------- fe_properties.c (grammar/) */

/* One logical key = value pair as java.util.Properties.load reads it. */
struct prop {
	char *key, *value;         /* unescaped, UTF-8 */
	struct pos key_pos, value_pos;
	/* The value is its own bytes on one line of the file (no escape, no
	 * continuation), so value_pos.col + offset locates any byte of it. */
	bool verbatim;
};

/* Lexes and parses a Java properties file.  Reports every error it finds;
 * returns the pairs in file order (duplicates kept) in *out.  Returns false
 * if there were errors. */
bool properties_read(const char *path, const char *text, size_t len,
		     struct prop **out, size_t *n);
/* Builds the IR from the pairs with Tigase's semantics. */
bool properties_to_ir(const struct prop *props, size_t n, struct ir_spec *spec);
/* --emit=keys: one JSON object per logical key, in file order. */
void properties_emit_keys(FILE *out, const struct prop *props, size_t n);

/* ------------------------------------------- fe_tdsl.c (grammar/tdsl.*) */

/* A parsed config.tdsl: its entries as written (tdsl.y, tdsl.tab.h). */
struct td_state;
/* Lexes and parses a Tigase 8 DSL file.  Reports every error it finds;
 * *out gets the tree even then (for --emit=keys and fuzzing).  Returns
 * false if there were errors. */
bool tdsl_read(const char *path, const char *text, size_t len,
	       struct td_state **out);
/* Builds the IR from the tree with Tigase's semantics. */
bool tdsl_to_ir(const struct td_state *doc, struct ir_spec *spec);
/* --emit=keys: one JSON object per key, flattened as Tigase flattens
 * beans (NAME/class, NAME/KEY, ...), in file order. */
void tdsl_emit_keys(FILE *out, const struct td_state *doc);

/* ---------------------------------------------------------- fe_yaml.c */

bool yaml_to_ir(const char *path, const char *text, size_t len,
		struct ir_spec *spec);

/* ------------------------------------------------------------ jid.c */

/* The RFC 7622 checks live in runtime/jid.c, shared with the runtime
 * (runtime/jid.h): jid_check_domain, jid_check_jid, utf8_valid. */

/* ------------------------------------------------------------ check.c */

/* Fills the components' ids and compat digests (compat_compute), then
 * runs every named check over the IR.  Returns false if any check
 * reported an error. */
bool check_spec(struct ir_spec *spec);
/* Prints the table of named checks (--list-checks). */
void check_list(FILE *out);

/* ------------------------------------------------------------ load.c */

/* Reads the spec at path in the given format (FMT_YAML or
 * FMT_PROPERTIES) into *spec: front end, node defaults, named checks.
 * Returns false when any error was reported (warnings do not count). */
bool spec_load(const char *path, int format, struct ir_spec *spec);

/* ------------------------------------------------------------ compat.c */

/* Fills every component's id and compat digest (see compat.c for what
 * they cover and why).  check_spec() calls it before its checks. */
void compat_compute(struct ir_spec *spec);
/* Component indexes in table order (by domain, memcmp then length).
 * Arena memory. */
size_t *compat_table_order(const struct ir_spec *spec);

/* ------------------------------------------------------------ plan.c */

/* vcompc plan OLD NEW: argv[0] is "plan".  Returns the exit status. */
int plan_main(int argc, char **argv);

/* ------------------------------------------------------------ caps.c */

struct caps_form_field {
	const char *var;
	const char **values;
	size_t nvalues;
};
struct caps_form {
	const char *form_type;
	const struct caps_form_field *fields;
	size_t nfields;
};
/* qsort comparator over an array of const struct ir_identity *: the
 * XEP-0115 order (category, type, xml:lang; then name, so that the order
 * never depends on the input's).  disco.c renders in the same order. */
int caps_identity_cmp(const void *a, const void *b);
/* XEP-0115 §5.1 verification string: base64(SHA-1(S)), written to
 * out (29 bytes incl. NUL).  Sorts copies; inputs are not changed. */
void caps_ver(const struct ir_identity *ids, size_t nids,
	      const char *const *features, size_t nfeatures,
	      const struct caps_form *forms, size_t nforms, char out[29]);

/* ------------------------------------------------------------ disco.c */

/* Renders the disco#info <query/> for a component with libxml2's tree API
 * (escaping right by construction).  with_node: put node='disco_node' on
 * the query.  Returns a heap string the caller frees. */
char *disco_render_query(const struct ir_component *c, bool with_node);
/* The same, rendered once per component and run and kept in the arena
 * (c's memo, which is why c is not const); *len receives its length. */
const char *disco_query(struct ir_component *c, bool with_node, size_t *len);
/* Bytes of the smallest <iq type='result'/> that carries a response of
 * query_len bytes from c (the envelope the runtime adds, with an empty id
 * and recipient): what must fit max-stanza. */
size_t disco_reply_size(const struct ir_component *c, size_t query_len);
/* The features the response advertises, sorted, duplicates removed,
 * disco#info added (XEP-0030 §3.1).  Arena memory. */
const char **disco_features(const struct ir_component *c, size_t *n);

/* ------------------------------------------------------------ emit_c.c, emit_json.c */

struct emit_opts {
	const char *spec_name;   /* the spec's path as given, for the banner */
};
/* Writes the generated table for node index `node`. */
void emit_c(FILE *out, const struct ir_spec *spec, size_t node,
	    const struct emit_opts *o);
void emit_json(FILE *out, const struct ir_spec *spec, size_t node);
/* Writes the whole cluster as a Graphviz digraph (emit_dot.c). */
void emit_dot(FILE *out, const struct ir_spec *spec, const struct emit_opts *o);

/* ------------------------------------------------------------ secrets.c */

/* Writes DIR/NODE.secrets (mode 0600) holding the inline secrets a node
 * needs, if any.  Returns false after reporting an error. */
bool secrets_write_bundle(const struct ir_spec *spec, size_t node,
			  const char *path);
/* The bundle key of an inline secret: "cluster" for the cluster secret
 * (c == NULL), "component/DOMAIN" for component c's.  Arena memory. */
const char *secrets_bundle_key(const struct ir_component *c);
/* True if node `node` needs a secrets bundle (some secret it uses is
 * SECRET_INLINE). */
bool secrets_needed(const struct ir_spec *spec, size_t node);

/* ------------------------------------------------------------ link.c */

/* Builds the static node binary `out`: writes the table C into a private
 * temporary directory and runs $CC on it with libvcrt.a (see docs/cli.md
 * for the library search).  Returns false after reporting an error. */
bool link_node(const struct ir_spec *spec, size_t node,
	       const struct emit_opts *o, const char *out);

#endif /* VCOMPC_H */
