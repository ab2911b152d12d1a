/*
 * benchlib.h — what the benchmark programs of tests/bench share: the
 * generated stream of realistic stanzas, the parser rate measurement of
 * the runtime's own stream parser (xmlstream.h), clocks, /proc readers and
 * the result lines that tests/bench/run.sh collects.
 *
 * Result lines go to stdout, one per measured figure and run:
 *
 *   R SECTION METRIC UNIT VALUE BASELINE_NAME BASELINE_VALUE
 *
 * BASELINE_NAME is "-" (and BASELINE_VALUE 0) when the figure has no
 * baseline of its own; tests/bench/report.py turns these lines into the
 * table and the CSV.  Everything else a program prints goes to stderr.
 *
 * Memory: bench_stream() returns a malloc'd buffer the caller frees.
 */
#ifndef VCOMP_BENCHLIB_H
#define VCOMP_BENCHLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The component domain every bench spec uses. */
#define BENCH_DOMAIN	"muc.bench.test"
/* Bytes handed to the parser at a time, as a socket read would. */
#define BENCH_CHUNK	4096

/* A generated stream: stanzas only (no header), and how many. */
struct bench_stream {
	char *p;
	size_t len;
	size_t nstanzas;
	size_t nmsg, npres, niq;
};

/*
 * Fills s with n stanzas, the same for the same seed: about 60 % messages
 * of 150–400 bytes (groupchat and chat, escaped text, some UTF-8), 25 %
 * MUC presence with caps, 15 % iq (disco#info to a room, disco#items to the
 * domain).  Every stanza is addressed inside BENCH_DOMAIN and none is a
 * disco#info to the bare domain, so a runtime forwards every one of them
 * to the real component unchanged.  Stanzas from user U carry the full JID
 * userU@example.test/rU; nusers bounds U.
 */
void bench_stream(struct bench_stream *s, size_t n, uint32_t seed,
    uint32_t nusers);

/* The stream header the parser measurement puts in front of the stanzas. */
extern const char bench_header[];

/* Parses header + s in BENCH_CHUNK pieces with the runtime's parser;
 * returns the seconds taken and stores the stanzas it reported in *count.
 * Exits on a parse error (the generator is broken). */
double bench_parse(const struct bench_stream *s, size_t *count);
/* The memory floor over the same bytes in the same chunks: memcpy each
 * chunk into a buffer and memchr through it for every '<'.  Returns the
 * seconds; *count gets the '<' seen (so the work cannot be optimised
 * away). */
double bench_memfloor(const struct bench_stream *s, size_t *count);

/* Monotonic clock in seconds / nanoseconds. */
double now_s(void);
uint64_t now_ns(void);

/* utime+stime of pid in seconds (from /proc/PID/stat), -1 on error. */
double proc_cpu_s(pid_t pid);
/* A "VmRSS"/"VmHWM" style field of /proc/PID/status in KiB, -1 on error. */
long proc_status_kib(pid_t pid, const char *field);

/* One result line (see above). */
void result(const char *section, const char *metric, const char *unit,
    double value, const char *bname, double bvalue);

/*
 * Small socket helpers for the XMPP programs (echocomp.c, xmppc.c).  All
 * on 127.0.0.1; every failure exits the program with a message naming
 * what, since a bench that cannot talk to its peers has nothing to say.
 */
/* Connects to 127.0.0.1:port with TCP_NODELAY, retrying for up to 15 s
 * while nobody listens yet. */
int bench_connect(int port);
/* Writes all n bytes (blocking socket). */
void bench_write_all(int fd, const void *p, size_t n);
/* Reads into buf (NUL-terminated; *len bytes so far, cap its size) until
 * it holds needle or timeout_ms passes; returns where needle starts.
 * Exits on timeout, EOF or a full buffer, naming the needle. */
char *bench_read_until(int fd, char *buf, size_t cap, size_t *len,
    const char *needle, int timeout_ms);
/* Copies the value of attribute name (quoted either way) of the start tag
 * at p (n bytes) to out (cap bytes, NUL-terminated), without unescaping.
 * Stores the quote character in *quote when quote is not NULL.  False
 * when there is no such attribute or it does not fit. */
bool bench_attr(const char *p, size_t n, const char *name, char *out,
    size_t cap, char *quote);

/* qsort comparator for doubles, ascending. */
int bench_cmp_double(const void *a, const void *b);
/* The p-th percentile (nearest rank) of v[0..n), sorted ascending; -1
 * when n is 0. */
double bench_pct(const double *v, size_t n, double p);

/* The real component's side of the XEP-0114 handshake for domain on fd
 * (to a server or a runtime's home listener), blocking, 15 s per step;
 * exits naming prog when the other side sends no stream id. */
void bench_component_handshake(int fd, const char *domain,
    const char *secret, const char *prog);
/* Length of the complete top-level element at p (n bytes, starting at
 * '<'), 0 when it is not complete yet.  An element ends at "/>" of its
 * start tag or at the first "</NAME>" after it (the benches' stanzas hold
 * no element of their own name). */
size_t bench_element_len(const char *p, size_t n);

/* Logs user@example.test (password "pw") in on the client stream fd:
 * SASL PLAIN without TLS, stream restart, binding resource.  Blocking, a
 * few milliseconds against Prosody; exits on any refusal. */
void bench_login(int fd, const char *user, const char *resource);

/* An output buffer for a non-blocking socket: bytes are added at the end
 * and written from off.  Owns p (free it with free()). */
struct bench_obuf {
	char *p;
	size_t len, off, cap;
};
void bench_ob_add(struct bench_obuf *o, const void *p, size_t n);
/* Writes what it can without blocking; exits on a write error other than
 * EAGAIN.  Returns true when the buffer is now empty. */
bool bench_ob_flush(struct bench_obuf *o, int fd);

/* Formats the i-th of a family of realistic full JIDs into out (cap
 * bytes): "userI.HEX@DOMAIN/CLIENT.HEX", four domains, six client names,
 * about 51 bytes.  Returns the length (snprintf's). */
int bench_jid(char *out, size_t cap, uint32_t i);

/* xorshift32; deterministic. */
uint32_t bench_rand(uint32_t *state);

#endif /* VCOMP_BENCHLIB_H */
