/*
 * node.c — the life of a node: start-up checks, signals, the run, and the
 * graceful shutdown.
 *
 * Start-up loads every secret the table names and resolves every address
 * before opening any socket, and reports all problems before refusing to
 * start (exit 1), so one run shows everything that is wrong.  A secret
 * shorter than SECRET_MIN_LEN bytes is a warning.  --check goes further
 * and then stops: it also resolves the peer address of every node this one
 * links with, and test-binds every address the node will listen on (home
 * listener, stats listener, peer listener), all at once so that two of
 * them on one port are found too, naming the one that is taken.
 *
 * Signals arrive through a signalfd, so handlers are ordinary loop
 * callbacks and nothing runs in signal context:
 *   SIGTERM, SIGINT  graceful shutdown; a second one stops at once;
 *   SIGUSR1          log the counters;
 *   SIGUSR2          upgrade in place (below);
 *   SIGPIPE          ignored (a write to a dead peer is an EPIPE error).
 *
 * Upgrading in place (SIGUSR2; docs/runtime.md, "Upgrading in place"):
 * the XEP-0114 sessions survive a binary swap, so the node's server never
 * answers its users for a missing component.  First the new binary is run
 * with --check-upgrade (preflight()): a new image that would refuse to
 * start after the exec is refused while nothing is drained yet.
 * PH_UPGRADE_DRAIN: listeners
 * held (connections wait in the backlog), the XEP-0114 sessions no longer
 * read (C_HELD), stats clients closed, the peer links drained as for
 * SIGTERM (bounded by limits.drain_ms); PH_UPGRADE_LINKS: BYE on the links,
 * until they closed (UPGRADE_LINKS_MS at most); then the state is written
 * to a memfd (handover.c) and the executable the node was started from is
 * executed again, same pid, same argv, VCOMP_HANDOVER naming the memfd.
 * The new image adopts the listeners and sessions (adopt_handover) and
 * links again.  When execve() fails the old image resumes (resume_upgrade).
 *
 * Shutdown drains first (begin_shutdown, drain_step; docs/cluster.md,
 * "Stopping a node"), so that nothing another node already delivered is
 * answered with an error and nothing is dropped in a closing handshake:
 *   PH_COMPONENTS  no new work (route_stopping); peers told DRAIN; once
 *                  every link is quiet, each real component that went
 *                  quiet gets the closing handshake;
 *   PH_UPSTREAMS   what waits for a home is answered; each upstream gets
 *                  the closing handshake and is read until the server
 *                  closed; links still forward;
 *   PH_FINAL       (finish_shutdown, also after limits.drain_ms (the
 *                  spec's `drain`) or a second
 *                  signal) BYE on the links, whose unacknowledged frames
 *                  go back to the queues while streams are still up;
 *                  deliver what can be, bounce the rest; close every
 *                  stream; wait until every output buffer is written and
 *                  every connection closed, or SHUTDOWN_GRACE_MS; exit 0.
 *
 * Ownership: comps[] and the secrets in it are allocated here and freed
 * when node_run returns.
 */
#define _GNU_SOURCE         /* memfd_create */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "peer_proto.h"
#include "vcrt.h"

/* Secrets shorter than this are accepted with a warning: a peer-link or
 * XEP-0114 secret that short can be guessed offline from one captured
 * handshake. */
#define SECRET_MIN_LEN	16

/* After an upgrade, how long a virtual component's adopted upstream
 * stays registered with no home reachable (clustered servers): the peer
 * links' authentication timeout (peer.c), so that they had time to come
 * up. */
#define UPGRADE_HOME_GRACE_MS	5000

/* How long an upgrade waits, after the drain, for the links' BYE to be
 * written and their connections to close before executing anyway. */
#define UPGRADE_LINKS_MS	1000

static struct io sig_io;
static struct timer grace, drain_deadline, drain_tick;
/* Where a SIGTERM's drain or a SIGUSR2's upgrade is (docs/runtime.md,
 * "Signals"). */
static enum {
	PH_RUNNING,         /* no signal yet */
	PH_COMPONENTS,      /* real components closing, peers draining */
	PH_UPSTREAMS,       /* upstreams closing, still read */
	PH_FINAL,           /* links said BYE, queues answered, grace */
	PH_UPGRADE_DRAIN,   /* SIGUSR2: sessions held, peers draining */
	PH_UPGRADE_LINKS,   /* SIGUSR2: links said BYE, closing */
} phase;
/* The executable this process was started from and its argv: SIGUSR2
 * executes them again.  The path is the one it was invoked by (argv[0],
 * looked up in PATH as execvp() does), symlinks NOT resolved, so that a
 * deploy that re-points a symlink (releases/N -> releases/N+1) is
 * followed; /proc/self/exe's target only when argv[0] does not name this
 * very file.  self_ino is the running image, to tell an operator who
 * upgrades to the same file. */
static char *self_exe;
static char **self_argv;
static struct stat self_ino;

/* An absolute form of path (relative to the working directory at start),
 * malloc'd, when it names the same file as the running image. */
static char *
same_image(const char *path)
{
	struct stat st;
	char cwd[PATH_MAX], *abs;
	size_t n;

	if (stat(path, &st) != 0 || st.st_dev != self_ino.st_dev ||
	    st.st_ino != self_ino.st_ino)
		return NULL;
	if (path[0] == '/')
		return xstrdup(path);
	if (getcwd(cwd, sizeof cwd) == NULL)
		return NULL;
	n = strlen(cwd) + strlen(path) + 2;
	abs = xmalloc(n);
	snprintf(abs, n, "%s/%s", cwd, path);
	return abs;
}

static char *
invoked_path(const char *argv0)
{
	const char *dirs, *end;
	char cand[PATH_MAX], *p;

	if (stat("/proc/self/exe", &self_ino) != 0)
		return NULL;
	if (argv0 != NULL && strchr(argv0, '/') != NULL) {
		if ((p = same_image(argv0)) != NULL)
			return p;
	} else if (argv0 != NULL && *argv0 != '\0' &&
	    (dirs = getenv("PATH")) != NULL) {
		for (; ; dirs = end + 1) {
			end = strchrnul(dirs, ':');
			/* An empty entry is the working directory. */
			if (snprintf(cand, sizeof cand, "%.*s%s%s",
			    (int)(end - dirs), dirs, end == dirs ? "" : "/",
			    argv0) < (int)sizeof cand &&
			    (p = same_image(cand)) != NULL)
				return p;
			if (*end == '\0')
				break;
		}
	}
	return realpath("/proc/self/exe", NULL);
}

static void
grace_over(struct timer *t)
{
	size_t left = 0;
	int n = 0;

	for (struct conn *c = conn_all; c != NULL; c = c->next) {
		left += conn_pending(c);
		n++;
	}
	vlog(VL_WARN, "shutdown: grace period over; closing %d connection(s) "
	    "with %zu byte(s) unsent", n, left);
	loop_stop();
}

/*
 * The end of the drain, or what a second signal or the drain limit cuts
 * short to: the old order, which lets every stanza still held be
 * delivered or answered once.  BYE on the links, whose unacknowledged
 * frames (none after a full drain) go back to the queues while the
 * upstreams and real components that are still open can take them; then
 * deliver what can be and bounce the rest (cancel/service-unavailable,
 * "shutting down"); then end every stream; wait until every output is
 * written or SHUTDOWN_GRACE_MS.
 */
static void
finish_shutdown(void)
{
	timer_stop(&drain_deadline);
	timer_stop(&drain_tick);
	phase = PH_FINAL;
	peer_stop();
	/* From here nothing is queued any more: every stanza is bounced.
	 * route_bounce_all() first flushes what a live destination can
	 * take, then answers the rest, all before any stream closes. */
	shutting_down = true;
	route_bounce_all();
	for (size_t i = 0; i < ncomps; i++) {
		upstream_stop(&comps[i]);
		home_stop(&comps[i]);
	}
	/* Connections that carry no stream worth closing politely
	 * (unauthenticated components) go at once. */
	for (struct conn *c = conn_all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CK_HOME && (c->flags & C_UNAUTH))
			conn_close(c, NULL);
	}
	grace.fn = grace_over;
	timer_arm(&grace, SHUTDOWN_GRACE_MS);
}

/* Set when $NOTIFY_SOCKET names a service manager to tell. */
static bool status_on;

/* Under systemd, STATUS= says what the node is doing
 * ("2/2 peer links up, muc: home reachable") whenever that changes.
 * The summary is a few dozen bytes built from flags already in memory. */
static void
status_update(void)
{
	char text[NOTIFY_STATUS_MAX];

	if (shutting_down)
		return;
	(void)stats_health(text, sizeof text, NULL);
	notify_status_changed(text);
}

/* Wakes the loop while draining, so that quiet components are noticed. */
static void
drain_ticked(struct timer *t)
{
	if (phase == PH_COMPONENTS || phase == PH_UPSTREAMS ||
	    phase == PH_UPGRADE_DRAIN || phase == PH_UPGRADE_LINKS)
		timer_arm(t, DRAIN_TICK_MS);
}

/* Clustered servers: a virtual node registers c upstream only while a
 * home of c is available, so that the server cluster's own routing (to a
 * node that registered) takes over when none is. */
static void
home_availability(struct comp *c, bool available)
{
	if (table->servers != VC_SERVERS_CLUSTERED ||
	    c->vc->role != VC_ROLE_VIRTUAL || route_stopping)
		return;
	if (available)
		upstream_resume(c);
	else
		upstream_suspend(c);
}

static void links_closed(void);

static void
drain_over(struct timer *t)
{
	if (phase == PH_UPGRADE_DRAIN) {
		vlog(VL_WARN, "upgrade: drain limit (%" PRIu32 " ms) reached, "
		    "peers still busy; closing the links",
		    table->limits.drain_ms);
		peer_stop();
		phase = PH_UPGRADE_LINKS;
		timer_arm(&drain_deadline, UPGRADE_LINKS_MS);
		return;
	}
	if (phase == PH_UPGRADE_LINKS) {
		vlog(VL_WARN, "upgrade: links still closing after %d ms; "
		    "executing now", UPGRADE_LINKS_MS);
		links_closed();
		return;
	}
	vlog(VL_WARN, "shutdown: drain limit (%" PRIu32 " ms) reached; %s",
	    table->limits.drain_ms, phase == PH_COMPONENTS ? "real components or peers "
	    "still busy" : "upstreams or peers still busy");
	finish_shutdown();
}

static void resume_held(void);

static void
begin_shutdown(void)
{
	if (phase == PH_UPGRADE_DRAIN || phase == PH_UPGRADE_LINKS) {
		/* The upgrade is abandoned: the held sessions are read
		 * again and closed as on any stop. */
		vlog(VL_WARN, "stop requested during an upgrade: stopping now");
		notify_stopping();
		notify_status("shutting down");
		/* Nothing is kept for a next image: the listeners close
		 * (the peer listener through peer_stop). */
		peer_upgrade_abandoned();
		home_close_listener();
		stats_close();
		resume_held();
		route_stopping = true;
		finish_shutdown();
		return;
	}
	if (phase != PH_RUNNING) {
		vlog(VL_WARN, "second signal: stopping now");
		if (phase != PH_FINAL)
			finish_shutdown();
		loop_stop();
		return;
	}
	notify_stopping();
	notify_status("shutting down");
	vlog(VL_INFO, "shutting down (drain at most %" PRIu32 " ms, then "
	    "grace %d ms)", table->limits.drain_ms, SHUTDOWN_GRACE_MS);
	home_close_listener();
	stats_close();
	/* No new work: stanzas from the peers that cannot be written at
	 * once are given back to them; the real components are asked to
	 * close (they may still answer what they have); the peers are told
	 * to send nothing more here and to keep the replies for this
	 * node's users until it is back. */
	route_stopping = true;
	peer_drain(false);
	phase = PH_COMPONENTS;
	drain_deadline.fn = drain_over;
	timer_arm(&drain_deadline, table->limits.drain_ms);
	drain_tick.fn = drain_ticked;
	timer_arm(&drain_tick, DRAIN_TICK_MS);
}


/* ------------------------------------------------- upgrading in place */

/* Every XEP-0114 session held for the upgrade is read again. */
static void
resume_held(void)
{
	for (struct conn *c = conn_all; c != NULL; c = c->next)
		if (c->flags & C_HELD) {
			c->flags &= ~C_HELD;
			conn_resume(c);
		}
}

static void
hold_listeners(bool hold)
{
	for (struct listener *l = listener_all; l != NULL; l = l->next)
		listener_hold(l, hold);
}

/* The environment variable naming, for the pre-flight of an in-place
 * upgrade, the ports the running image listens on ("P,P,..."). */
#define HELD_PORTS_ENV	"VCOMP_UPGRADE_HELD_PORTS"

/* How long the old image waits for the new one's pre-flight. */
#define PREFLIGHT_MS	5000
/* What the pre-flight prints on stdout, with the format it reads. */
#define PREFLIGHT_LINE	"handover-format %d"

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The line of out (NUL-terminated) to quote for a failed pre-flight: the
 * first error the new image logged, else its first line, into why. */
static void
preflight_reason(const char *out, char *why, size_t whylen)
{
	const char *l = strstr(out, ": error: ");
	const char *end;

	if (l != NULL) {
		l += strlen(": error: ");
	} else {
		for (l = out; *l == '\n'; l++)
			;
		if (strncmp(l, "handover-format", 15) == 0 &&
		    (end = strchr(l, '\n')) != NULL)
			l = end + 1;
	}
	end = strchrnul(l, '\n');
	if (end > l)
		snprintf(why, whylen, "%.*s", (int)(end - l), l);
}

/*
 * Before anything is drained: runs the new image with --check-upgrade
 * (its start-up checks: table version, secrets, addresses; no test
 * binds, this image holds the ports) and requires exit 0 and the
 * handover format this image writes.  A new image that would refuse to
 * start after the exec (a secret it cannot load, an address that does
 * not resolve, a binary that cannot read the state) is found while
 * every session is still served here.  Blocks the loop for
 * PREFLIGHT_MS at most.  Returns true when the upgrade may go on.
 */
static bool
preflight(void)
{
	char out[16384], why[512], want[64], *args[64], held[512] = "";
	size_t argc = 0, got = 0, hl = 0;
	int p[2], st = -1;
	int64_t deadline = mono_ms() + PREFLIGHT_MS;
	bool timed_out = false;
	pid_t pid;

	for (char **a = self_argv; *a != NULL && argc < 62; a++)
		args[argc++] = *a;
	args[argc++] = "--check-upgrade";
	args[argc] = NULL;
	/* The ports this image listens on: the new one test-binds the rest. */
	for (struct listener *l = listener_all; l != NULL; l = l->next) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		uint16_t port;

		if (getsockname(l->io.fd, (struct sockaddr *)&ss, &sl) != 0)
			continue;
		port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
		if (hl < sizeof held - 8)
			hl += (size_t)snprintf(held + hl, sizeof held - hl,
			    "%s%u", hl > 0 ? "," : "", port);
	}
	if (pipe2(p, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		vlog(VL_ERR, "upgrade: cannot run the new image's pre-flight: "
		    "%s; staying on the running image", strerror(errno));
		return false;
	}
	if (pid == 0) {
		sigset_t all;

		(void)dup2(p[1], 1);
		(void)dup2(p[1], 2);
		sigfillset(&all);
		(void)sigprocmask(SIG_UNBLOCK, &all, NULL);
		/* Not the service manager's business, nor a state. */
		unsetenv("NOTIFY_SOCKET");
		unsetenv(HANDOVER_ENV);
		setenv(HELD_PORTS_ENV, held, 1);
		execv(self_exe, args);
		dprintf(2, "cannot execute %s: %s\n", self_exe,
		    strerror(errno));
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int64_t left = deadline - mono_ms();
		ssize_t r;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		if (poll(&pf, 1, (int)left) < 0 && errno != EINTR)
			break;
		if (pf.revents == 0)
			continue;
		r = read(p[0], out + got, sizeof out - 1 - got);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			break;
		if (r > 0 && (got += (size_t)r) == sizeof out - 1)
			got = sizeof out / 2;   /* keep the first half */
	}
	close(p[0]);
	out[got] = '\0';
	if (timed_out)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	snprintf(want, sizeof want, PREFLIGHT_LINE "\n", HANDOVER_VERSION);
	if (!timed_out && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    strstr(out, want) != NULL)
		return true;
	if (timed_out)
		snprintf(why, sizeof why, "no answer within %d ms",
		    PREFLIGHT_MS);
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		snprintf(why, sizeof why, "it does not read handover format "
		    "%d", HANDOVER_VERSION);
	else if (WIFEXITED(st))
		snprintf(why, sizeof why, "exit status %d", WEXITSTATUS(st));
	else
		snprintf(why, sizeof why, "killed by signal %d",
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	preflight_reason(out, why, sizeof why);
	vlog(VL_ERR, "upgrade: the new image would not start: %s; staying on "
	    "the running image", why);
	return false;
}

/* SIGUSR2, first step: no new work (listeners held, sessions not read,
 * stats clients closed); the peers are told DRAIN, as on SIGTERM. */
static void
begin_upgrade(void)
{
	if (phase != PH_RUNNING) {
		vlog(VL_WARN, "SIGUSR2 ignored: %s", phase >= PH_UPGRADE_DRAIN ?
		    "already upgrading" : "stopping");
		return;
	}
	if (self_exe == NULL || access(self_exe, X_OK) != 0) {
		vlog(VL_ERR, "upgrade: cannot execute %s: %s; staying on the "
		    "running image", self_exe ? self_exe : "(unknown path)",
		    self_exe ? strerror(errno) : "/proc/self/exe unreadable "
		    "at start");
		return;
	}
	if (!preflight())
		return;
	{
		/* systemd (253+) wants the reload's start time with it. */
		struct timespec ts;
		char msg[64];

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(msg, sizeof msg, "RELOADING=1\nMONOTONIC_USEC=%llu",
		    (unsigned long long)ts.tv_sec * 1000000ULL +
		    (unsigned long long)ts.tv_nsec / 1000);
		(void)notify_send(msg);
	}
	notify_status("upgrading in place");
	{
		struct stat st;

		if (stat(self_exe, &st) == 0 && st.st_dev == self_ino.st_dev &&
		    st.st_ino == self_ino.st_ino)
			vlog(VL_WARN, "upgrade: %s is the running binary itself "
			    "(no new one installed there?); executing it again",
			    self_exe);
	}
	vlog(VL_INFO, "upgrade: draining the peer links (at most %" PRIu32
	    " ms), then executing %s", table->limits.drain_ms, self_exe);
	hold_listeners(true);
	/* Nothing reconnects from here (upstream.c checks it). */
	route_stopping = true;
	for (struct conn *c = conn_all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CK_STATS ||
		    (c->kind == CK_HOME && !(c->flags & C_READY)))
			conn_close(c, NULL);
	}
	for (size_t i = 0; i < ncomps; i++) {
		struct conn *x[2] = { comps[i].up, comps[i].home };

		upstream_hold(&comps[i]);
		for (int k = 0; k < 2; k++)
			if (x[k] != NULL && (x[k]->flags & C_READY) &&
			    !(x[k]->flags & C_HELD)) {
				x[k]->flags |= C_HELD;
				conn_pause(x[k]);
			}
	}
	/* Stanzas from the peers that cannot be written at once go back
	 * to them (route_stopping: they resend once linked to the next
	 * image). */
	peer_drain(true);
	phase = PH_UPGRADE_DRAIN;
	drain_deadline.fn = drain_over;
	timer_arm(&drain_deadline, table->limits.drain_ms);
	drain_tick.fn = drain_ticked;
	timer_arm(&drain_tick, DRAIN_TICK_MS);
}

/* The session c, continued by the next image: fd, saved stream state. */
static void
save_session(struct handover *h, struct conn *c, uint8_t kind)
{
	struct ho_conn *hc;
	const char *p;
	size_t n;

	if (c == NULL || !(c->flags & C_READY) || (c->flags & C_DEAD) ||
	    c->xs == NULL)
		return;
	p = xs_header(c->xs, &n);
	if (n == 0) {
		/* The next image could not continue it (and an older one
		 * would refuse the whole state for it): it ends here. */
		vlog(VL_WARN, "upgrade: %s: no stream header saved; the "
		    "session is not handed over", c->name);
		return;
	}
	hc = handover_add_conn(h);
	hc->kind = kind;
	hc->fd = c->io.fd;
	hc->comp_id = ((struct comp *)c->owner)->vc->id;
	hc->domain = xstrdup(((struct comp *)c->owner)->vc->domain);
	vbuf_add(&hc->hdr, p, n);
	p = xs_pending(c->xs, &n);
	vbuf_add(&hc->in, p, n);
	p = conn_unsent(c, &n);
	vbuf_add(&hc->out, p, n);
}

static uint8_t
listener_kind(const struct listener *l)
{
	if (strncmp(l->name, "peer", 4) == 0)
		return HO_L_PEER;
	if (strncmp(l->name, "stats", 5) == 0)
		return HO_L_STATS;
	return HO_L_HOME;
}

/* Every descriptor the state names keeps (0) or loses (1) FD_CLOEXEC. */
static void
set_cloexec(const struct handover *h, int on)
{
	for (size_t i = 0; i < h->nlisteners; i++)
		(void)fcntl(h->listeners[i].fd, F_SETFD, on ? FD_CLOEXEC : 0);
	for (size_t i = 0; i < h->nconns; i++)
		(void)fcntl(h->conns[i].fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/* An upgrade whose execve() failed: the old image goes on serving. */
static void
resume_upgrade(void)
{
	timer_stop(&drain_deadline);
	timer_stop(&drain_tick);
	route_stopping = false;
	phase = PH_RUNNING;
	hold_listeners(false);
	resume_held();
	for (size_t i = 0; i < ncomps; i++)
		upstream_start(&comps[i]);
	peer_relink();
	route_homes_changed();
	notify_ready();
	vlog(VL_WARN, "upgrade: failed; resumed on the running image");
}

/* Longest VCOMP_HANDOVER value: execve() refuses a string over 128 KiB
 * (MAX_ARG_STRLEN) in the environment. */
#define HANDOVER_ENV_MAX	(120 * 1024)

/* VCOMP_HANDOVER's value: the memfd, then every descriptor handed over
 * (the new image lets go of exactly those when it refuses the state). */
static void
handover_env(struct vbuf *v, int memfd, const struct handover *h)
{
	char num[16];

	snprintf(num, sizeof num, "%d:", memfd);
	vbuf_addstr(v, num);
	for (size_t i = 0; i < h->nlisteners + h->nconns; i++) {
		snprintf(num, sizeof num, "%s%d", i ? "," : "",
		    i < h->nlisteners ? h->listeners[i].fd :
		    h->conns[i - h->nlisteners].fd);
		vbuf_addstr(v, num);
	}
	vbuf_addch(v, '\0');
}

/* The state in a sealed memfd (the reader requires the seals: it reads
 * exactly fstat's size, which nothing can change).  -1 with errno. */
static int
state_memfd(const struct vbuf *b)
{
	int fd = memfd_create("vcomp-handover", MFD_ALLOW_SEALING);
	size_t off = 0;

	while (fd >= 0 && off < b->len) {
		ssize_t w = write(fd, b->p + off, b->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			errno = e;
			return -1;
		}
		off += (size_t)w;
	}
	if (fd >= 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Writes the state and executes the new image.  Returns only when that
 * failed (logged, the old image resumed). */
static void
exec_upgrade(void)
{
	struct handover h = { 0 };
	struct vbuf b = { 0 }, env = { 0 };
	char why[160];
	int fd, e;
	size_t in = 0, out = 0;

	timer_stop(&drain_deadline);
	timer_stop(&drain_tick);
	conn_flush();
	h.node = xstrdup(table->nodes[table->self].name);
	for (struct listener *l = listener_all; l != NULL; l = l->next) {
		struct ho_listener *hl = handover_add_listener(&h);

		hl->kind = listener_kind(l);
		hl->fd = l->io.fd;
	}
	for (size_t i = 0; i < ncomps; i++) {
		save_session(&h, comps[i].up, HO_C_UPSTREAM);
		save_session(&h, comps[i].home, HO_C_HOME);
	}
	route_handover_save(&h);
	handover_write(&h, &b);
	if (!handover_fits(&h, b.len, why, sizeof why)) {
		/* The new image would refuse it and start fresh, closing
		 * every session: better stay. */
		vlog(VL_ERR, "upgrade: the handover state is too large (%s); "
		    "staying on the running image", why);
		vbuf_free(&b);
		handover_free(&h);
		resume_upgrade();
		return;
	}
	fd = state_memfd(&b);
	vbuf_free(&b);
	if (fd < 0) {
		vlog(VL_ERR, "upgrade: cannot write the handover state: %s",
		    strerror(errno));
		handover_free(&h);
		resume_upgrade();
		return;
	}
	handover_env(&env, fd, &h);
	if (env.len > HANDOVER_ENV_MAX) {
		vlog(VL_ERR, "upgrade: %zu descriptors to hand over, too many "
		    "for the environment; staying on the running image",
		    h.nlisteners + h.nconns);
		vbuf_free(&env);
		close(fd);
		handover_free(&h);
		resume_upgrade();
		return;
	}
	for (size_t i = 0; i < h.nconns; i++) {
		in += h.conns[i].in.len;
		out += h.conns[i].out.len;
	}
	vlog(VL_INFO, "upgrade: executing %s with %zu session(s) (%zu "
	    "byte(s) read but not yet a stanza, %zu not yet written), %zu "
	    "listener(s) and %zu queued stanza(s)", self_exe, h.nconns, in,
	    out, h.nlisteners, h.nstanzas);
	set_cloexec(&h, 0);
	setenv(HANDOVER_ENV, env.p, 1);
	execv(self_exe, self_argv);
	e = errno;
	unsetenv(HANDOVER_ENV);
	set_cloexec(&h, 1);
	close(fd);
	vbuf_free(&env);
	handover_free(&h);
	vlog(VL_ERR, "upgrade: cannot execute %s: %s", self_exe, strerror(e));
	resume_upgrade();
}

/* Moves the drain on when its step is done (called before sleeping). */
static void
drain_step(void)
{
	bool busy = false;

	switch (phase) {
	case PH_COMPONENTS:
		/* Every peer said DRAINED and nothing is in flight on any
		 * link; then each real component, once it went quiet (it
		 * answered what it had: nothing read from it or written to
		 * it for DRAIN_QUIET_MS), gets the closing handshake; the
		 * step ends when they all closed. */
		if (!peer_drained())
			return;
		for (size_t i = 0; i < ncomps; i++) {
			struct conn *h = comps[i].home;

			if (h == NULL)
				continue;
			busy = true;
			if (conn_pending(h) == 0 &&
			    loop_now() - h->last_in >= DRAIN_QUIET_MS &&
			    loop_now() - h->last_out >= DRAIN_QUIET_MS)
				home_close(&comps[i]);
		}
		if (busy)
			return;
		/* What still waits for a home has none left here: answered
		 * now, while the upstreams can carry the answer. */
		route_bounce_homeless();
		/* RFC 6120 §4.4: close, keep reading until the server has
		 * closed too; what it sent meanwhile is still routed (the
		 * links are up). */
		for (size_t i = 0; i < ncomps; i++)
			upstream_close(&comps[i]);
		phase = PH_UPSTREAMS;
		return;
	case PH_UPSTREAMS:
		for (size_t i = 0; i < ncomps; i++)
			if (comps[i].up != NULL)
				busy = true;
		if (busy || !peer_drained())
			return;
		vlog(VL_INFO, "shutdown: drained");
		finish_shutdown();
		return;
	case PH_UPGRADE_DRAIN:
		/* Every peer said DRAINED and nothing is in flight: BYE. */
		if (!peer_drained())
			return;
		vlog(VL_INFO, "upgrade: peer links drained");
		peer_stop();
		phase = PH_UPGRADE_LINKS;
		timer_arm(&drain_deadline, UPGRADE_LINKS_MS);
		return;
	case PH_UPGRADE_LINKS:
		for (struct conn *c = conn_all; c != NULL; c = c->next)
			if (c->kind == CK_PEER || c->kind == CK_STATS)
				return;
		links_closed();
		return;
	default:
		return;
	}
}

/* The links are closed (or closing too long): on to the next image. */
static void
links_closed(void)
{
	for (struct conn *c = conn_all, *next; c != NULL; c = next) {
		next = c->next;
		if (c->kind == CK_PEER || c->kind == CK_STATS)
			conn_close(c, NULL);
	}
	exec_upgrade();
}

/*
 * The one step the loop runs before every epoll_wait, in this order:
 *   1. frames that paused links left in their decoders are handled (their
 *      stanzas are queued on connections);
 *   2. every pending output is written (conn_flush), so that
 *   3. receipts see what reached the other host and ACKs are queued
 *      (delivery.c), and they too are written by
 *   4. a second flush (usually a no-op: it writes only ACKs and what the
 *      first flush's drained callbacks queued last);
 *   5. closed connections, then dead peer links, are freed — after
 *      everything that might still name them this pass;
 *   6. under systemd, STATUS= is sent when the summary changed;
 *   7. a SIGTERM's drain moves to its next step when this one is done;
 *   8. a shutdown whose connections are all gone ends the loop.
 * Each step is a plain call: no file registers work of its own.
 */
static void
before_sleep(void)
{
	peer_resume_input();
	conn_flush();
	peer_ack();
	conn_flush();
	conn_reap();
	peer_reap();
	if (status_on)
		status_update();
	drain_step();
	if (shutting_down && conn_all == NULL)
		loop_stop();
}

static void
signal_event(void *arg, uint32_t events)
{
	struct signalfd_siginfo si;

	while (read(sig_io.fd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			vlog(VL_INFO, "received %s", strsignal((int)si.ssi_signo));
			begin_shutdown();
			break;
		case SIGUSR1:
			stats_log();
			break;
		case SIGUSR2:
			vlog(VL_INFO, "received %s", strsignal((int)si.ssi_signo));
			begin_upgrade();
			break;
		}
	}
}

static int
setup_signals(void)
{
	sigset_t set;
	int fd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0) {
		vlog(VL_ERR, "sigprocmask: %s", strerror(errno));
		return -1;
	}
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		vlog(VL_ERR, "signalfd: %s", strerror(errno));
		return -1;
	}
	return io_add(&sig_io, fd, EPOLLIN, signal_event, NULL);
}

/* Resolves one endpoint, for the start-up check.  0 or -1. */
static int
check_endpoint(const struct vc_endpoint *e, const char *what)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (e->host == NULL)
		return 0;
	if (resolve(e->host, e->port, &ss, &len) < 0) {
		vlog(VL_ERR, "%s address %s:%u does not resolve", what,
		    e->host, e->port);
		return -1;
	}
	return 0;
}

/*
 * Loads the older secrets of a rotation list (`secret: [NEW, OLD]`): every
 * one must be readable, as the first must, so that a node never starts
 * accepting less than its spec says.  Returns a malloc'd array of n
 * malloc'd secrets (NULL entries for the ones that failed, counted in
 * *bad), or NULL when n is 0; free_accept() wipes and frees it.
 */
static char **
load_accept(const struct vc_secret *v, size_t n, const char *bundle,
    const char *what, int *bad)
{
	char **out;
	char w[1300];

	if (n == 0)
		return NULL;
	out = xcalloc(n, sizeof *out);
	for (size_t i = 0; i < n; i++) {
		snprintf(w, sizeof w, "%s (older secret %zu of the rotation)",
		    what, i + 2);
		if ((out[i] = secret_load(&v[i], bundle, w)) == NULL)
			(*bad)++;
	}
	return out;
}

static void
free_accept(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		secret_free(v[i]);
	free(v);
}

/* Warns when secret s (what names it) is short.  Returns 1 if it did. */
static int
check_strength(const char *s, const char *what)
{
	size_t n = strlen(s);

	if (n >= SECRET_MIN_LEN)
		return 0;
	vlog(VL_WARN, "%s is only %zu byte(s); use at least %d random bytes "
	    "(e.g. `openssl rand -hex 16`)", what, n, SECRET_MIN_LEN);
	return 1;
}

/* Is port among the comma-separated numbers of held (NULL: none)? */
static bool
port_held(const char *held, uint16_t port)
{
	while (held != NULL && *held != '\0') {
		char *end;
		unsigned long v = strtoul(held, &end, 10);

		if (end == held)
			return false;
		if (v == port)
			return true;
		held = *end == ',' ? end + 1 : end;
	}
	return false;
}

/*
 * --check: binds every address the node will listen on, holding them all
 * until the end so that two of ours on one port are found as well.  For
 * the pre-flight of an in-place upgrade (held != NULL): not the ports the
 * running image listens on — it hands them over, or closes them before
 * the new image binds another address on the same port — but every
 * other one, so that a port a new listener needs and another program
 * took refuses the upgrade while the old image still serves.
 * Returns the number of problems, each logged.
 */
static int
check_binds(const char *held)
{
	struct {
		const struct vc_endpoint *e;
		const char *what;
		int fd;
	} l[3] = { { NULL, NULL, -1 }, { NULL, NULL, -1 }, { NULL, NULL, -1 } };
	const int one = 1;
	size_t n = 0;
	int bad = 0;

	if (table->listen.host != NULL) {
		l[n].e = &table->listen;
		l[n++].what = "home listener";
	}
	if (table->stats.host != NULL) {
		l[n].e = &table->stats;
		l[n++].what = "stats listener";
	}
	if (table->nnodes > 1 && table->nodes[table->self].peer.host != NULL) {
		l[n].e = &table->nodes[table->self].peer;
		l[n++].what = "peer listener";
	}
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd, e;

		if (held != NULL && port_held(held, l[i].e->port))
			continue;       /* this node's own, handed over */
		if (resolve(l[i].e->host, l[i].e->port, &ss, &len) < 0)
			continue;       /* reported by prepare() */
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			vlog(VL_ERR, "%s %s:%u: socket: %s", l[i].what,
			    l[i].e->host, l[i].e->port, strerror(errno));
			bad++;
			continue;
		}
		/* As listener_open() does, so a port in TIME_WAIT passes. */
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof one);
		if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
			l[i].fd = fd;
			if (held == NULL)
				vlog(VL_INFO, "%s %s:%u: can listen", l[i].what,
				    l[i].e->host, l[i].e->port);
			continue;
		}
		e = errno;
		close(fd);
		bad++;
		if (e == EADDRINUSE) {
			const char *mine = NULL;

			for (size_t j = 0; j < i; j++)
				if (l[j].fd >= 0 && l[j].e->port == l[i].e->port)
					mine = l[j].what;
			vlog(VL_ERR, "%s %s:%u: address already in use%s%s%s",
			    l[i].what, l[i].e->host, l[i].e->port,
			    mine ? " by this node's " : " (by another process: "
			    "`ss -ltnp` names it)", mine ? mine : "",
			    mine ? " (two listeners on one port)" : "");
		} else
			vlog(VL_ERR, "%s %s:%u: cannot bind: %s", l[i].what,
			    l[i].e->host, l[i].e->port, strerror(e));
	}
	for (size_t i = 0; i < n; i++)
		if (l[i].fd >= 0)
			close(l[i].fd);
	return bad;
}

/* --check: resolves the peer address of every node this one links with
 * (dialled or not: a node's address is also what the others dial). */
static int
check_peers(void)
{
	int bad = 0;

	for (uint16_t i = 0; i < table->nnodes; i++) {
		char what[300];

		if (i == table->self ||
		    !peer_pair_needed(table, table->self, i))
			continue;
		snprintf(what, sizeof what, "peer %s", table->nodes[i].name);
		bad += check_endpoint(&table->nodes[i].peer, what) < 0;
	}
	return bad;
}

/* Loads secrets and resolves addresses.  Returns the number of problems,
 * each logged; *warnings counts the warnings. */
static int
prepare(const struct node_opts *o, int *warnings)
{
	const char *node = table->nodes[table->self].name;
	char *bundle, *cluster;
	bool any_home = false;
	int bad = 0;

	bundle = o->secrets != NULL ? xstrdup(o->secrets) :
	    secret_default_bundle(node);
	ncomps = table->ncomponents;
	comps = xcalloc(ncomps, sizeof *comps);
	for (size_t i = 0; i < ncomps; i++) {
		char what[1200];

		comps[i].vc = &table->components[i];
		snprintf(what, sizeof what, "secret of %s",
		    comps[i].vc->domain);
		comps[i].secret = secret_load(&comps[i].vc->secret, bundle,
		    what);
		if (comps[i].secret == NULL)
			bad++;
		else
			*warnings += check_strength(comps[i].secret, what);
		comps[i].accept = load_accept(comps[i].vc->accept,
		    comps[i].vc->naccept, bundle, what, &bad);
		if (comps[i].vc->role == VC_ROLE_HOME)
			any_home = true;
	}
	/* The cluster secret keys the peer links; a one-node cluster has
	 * none, so it is only required when there are peers. */
	if (table->nnodes > 1) {
		cluster = secret_load(&table->cluster_secret, bundle,
		    "cluster secret");
		if (cluster == NULL)
			bad++;
		else
			*warnings += check_strength(cluster, "cluster secret");
		cluster_secret = cluster;
		cluster_accept = load_accept(table->cluster_accept,
		    table->ncluster_accept, bundle, "cluster secret", &bad);
		ncluster_accept = table->ncluster_accept;
	}
	free(bundle);
	bad += check_endpoint(&table->server, "server") < 0;
	if (any_home)
		bad += check_endpoint(&table->listen, "listen") < 0;
	bad += check_endpoint(&table->stats, "stats") < 0;
	if (o->check) {
		bad += check_peers();
		bad += check_binds(NULL);
	} else if (o->check_upgrade)
		bad += check_binds(getenv(HELD_PORTS_ENV) != NULL ?
		    getenv(HELD_PORTS_ENV) : "");
	return bad;
}

static void
release(void)
{
	for (size_t i = 0; i < ncomps; i++) {
		secret_free(comps[i].secret);
		comps[i].secret = NULL;
		free_accept(comps[i].accept, comps[i].vc->naccept);
		comps[i].accept = NULL;
		queue_clear(&comps[i].to_home);
		queue_clear(&comps[i].to_up);
		queue_clear(&comps[i].replay);
	}
	peer_free_all();
	route_free();
	secret_free(cluster_secret);
	cluster_secret = NULL;
	free_accept(cluster_accept, ncluster_accept);
	cluster_accept = NULL;
	ncluster_accept = 0;
	free(comps);
	comps = NULL;
	ncomps = 0;
}


/* ------------------------------------- the new image: adopting a state */

/* The descriptors the previous image handed over, as VCOMP_HANDOVER
 * lists them ("MEMFD:FD,FD,..."); known is false for the older form
 * ("MEMFD" alone), which did not list them. */
struct handed {
	int *fd;
	size_t n;
	bool known;
};

/* Parses VCOMP_HANDOVER's value into *memfd (-1 when even that is not a
 * number) and hd.  Returns 0, or -1 when it does not parse. */
static int
parse_handover_env(const char *v, int *memfd, struct handed *hd)
{
	const size_t max = HANDOVER_MAX_LISTENERS + HANDOVER_MAX_CONNS;
	char *end;
	long fd = strtol(v, &end, 10);

	*memfd = -1;
	memset(hd, 0, sizeof *hd);
	if (end == v || fd < 3 || fd > INT_MAX)
		return -1;
	*memfd = (int)fd;
	if (*end == '\0')
		return 0;               /* the older form */
	if (*end != ':')
		return -1;
	hd->known = true;
	for (v = end + 1; *v != '\0'; v = *end == ',' ? end + 1 : end) {
		fd = strtol(v, &end, 10);
		if (end == v || fd < 3 || fd > INT_MAX || fd == *memfd ||
		    hd->n == max || (*end != ',' && *end != '\0'))
			return -1;
		hd->fd = xrealloc(hd->fd, (hd->n + 1) * sizeof *hd->fd);
		hd->fd[hd->n++] = (int)fd;
	}
	return 0;
}

static bool
handed_has(const struct handed *hd, int fd)
{
	for (size_t i = 0; i < hd->n; i++)
		if (hd->fd[i] == fd)
			return true;
	return false;
}

/* Lets inherited socket fd go politely: a listener is closed, a stream
 * ended with </stream:stream>.  Anything else is left alone. */
static bool
let_go_fd(int fd)
{
	struct stat st;
	int acc = 0;
	socklen_t len = sizeof acc;

	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == 0 &&
	    acc)
		close(fd);
	else
		conn_bye_fd(fd, "inherited stream", NULL, 0);
	return true;
}

/* The older form listed nothing: every socket without close-on-exec
 * (what the previous image handed over; this process opened none yet). */
static void
scan_inherited(struct handed *hd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		struct stat st;

		if (*end != '\0' || fd < 3 || fd > INT_MAX || fd == dirfd(d) ||
		    fstat((int)fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
		    (fcntl((int)fd, F_GETFD) & FD_CLOEXEC))
			continue;
		hd->fd = xrealloc(hd->fd, (hd->n + 1) * sizeof *hd->fd);
		hd->fd[hd->n++] = (int)fd;
	}
	closedir(d);
}

/* A state that cannot be used: the descriptors handed over are let go
 * politely, so that nothing leaks and no peer hangs; exactly those
 * listed (other descriptors this process inherited are not ours). */
static void
refuse_inherited(struct handed *hd)
{
	size_t n = 0;

	if (!hd->known)
		scan_inherited(hd);
	for (size_t i = 0; i < hd->n; i++)
		n += let_go_fd(hd->fd[i]);
	if (n > 0)
		vlog(VL_WARN, "upgrade: %zu inherited socket(s) closed", n);
}

/* Reads the whole state from memfd into a malloc'd buffer: the writer
 * sealed it (it cannot change while read, nor be grown past the size
 * checked here), so the size is fstat's, read with pread.  NULL with the
 * reason in why. */
static char *
read_state(int memfd, bool sealed, size_t *n, char *why, size_t whylen)
{
	const int need = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK |
	    F_SEAL_SEAL;
	struct stat st;
	char *buf;
	size_t off = 0;
	int seals;

	if (fstat(memfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "descriptor %d is not the state", memfd);
		return NULL;
	}
	seals = fcntl(memfd, F_GET_SEALS);
	if (sealed && (seals < 0 || (seals & need) != need)) {
		snprintf(why, whylen, "the state is not sealed");
		return NULL;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size > HANDOVER_MAX_BYTES) {
		snprintf(why, whylen, "the state is larger than %u bytes",
		    HANDOVER_MAX_BYTES);
		return NULL;
	}
	*n = (size_t)st.st_size;
	buf = xmalloc(*n ? *n : 1);
	while (off < *n) {
		ssize_t r = pread(memfd, buf + off, *n - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, whylen, "cannot read the state: %s",
			    r < 0 ? strerror(errno) : "short");
			free(buf);
			return NULL;
		}
		off += (size_t)r;
	}
	return buf;
}

/* Drops entry i of an array of n elements of size bytes. */
static void
drop_entry(void *a, size_t *n, size_t i, size_t size)
{
	char *p = a;

	memmove(p + i * size, p + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

/* Is fd an open socket the previous image handed over? */
static bool
fd_usable(const struct handed *hd, int fd)
{
	struct stat st;

	return (!hd->known || handed_has(hd, fd)) && fstat(fd, &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

/* Every descriptor of the state must be a socket handed over, each named
 * once.  An entry whose descriptor is not is dropped (logged: one bad
 * session costs only itself); a descriptor named twice refuses the whole
 * state (which entry is right cannot be told).  false with why. */
static bool
fds_usable(struct handover *h, const struct handed *hd, char *why,
    size_t whylen)
{
	for (size_t i = 0; i < h->nlisteners; )
		if (!fd_usable(hd, h->listeners[i].fd)) {
			vlog(VL_WARN, "upgrade: inherited listener %d is not "
			    "a socket handed over; ignored",
			    h->listeners[i].fd);
			drop_entry(h->listeners, &h->nlisteners, i,
			    sizeof *h->listeners);
		} else
			i++;
	for (size_t i = 0; i < h->nconns; )
		if (!fd_usable(hd, h->conns[i].fd)) {
			struct ho_conn *c = &h->conns[i];

			vlog(VL_WARN, "upgrade: inherited session of %s "
			    "(descriptor %d) is not a socket handed over; "
			    "dropped", c->domain, c->fd);
			free(c->domain);
			vbuf_free(&c->hdr);
			vbuf_free(&c->in);
			vbuf_free(&c->out);
			drop_entry(h->conns, &h->nconns, i, sizeof *h->conns);
		} else
			i++;
	for (size_t i = 0; i < h->nlisteners + h->nconns; i++) {
		int fi = i < h->nlisteners ? h->listeners[i].fd :
		    h->conns[i - h->nlisteners].fd;

		for (size_t j = 0; j < i; j++) {
			int fj = j < h->nlisteners ? h->listeners[j].fd :
			    h->conns[j - h->nlisteners].fd;

			if (fi == fj) {
				snprintf(why, whylen, "descriptor %d named "
				    "twice", fi);
				return false;
			}
		}
	}
	return true;
}

/* Handed over but named by no usable entry of the state (an entry
 * dropped by the reader or by fds_usable): let go. */
static void
let_go_unused(const struct handover *h, const struct handed *hd)
{
	for (size_t i = 0; i < hd->n; i++) {
		bool used = false;

		for (size_t k = 0; k < h->nlisteners && !used; k++)
			used = h->listeners[k].fd == hd->fd[i];
		for (size_t k = 0; k < h->nconns && !used; k++)
			used = h->conns[k].fd == hd->fd[i];
		if (!used)
			(void)let_go_fd(hd->fd[i]);
	}
}

/* The inherited listeners this table does not listen on are closed
 * before any listener binds (one of them may hold the port a new
 * address needs). */
static void
prune_inherited(void)
{
	const struct vc_endpoint *keep[3];
	size_t n = 0;

	for (size_t i = 0; i < ncomps; i++)
		if (comps[i].vc->role == VC_ROLE_HOME) {
			keep[n++] = &table->listen;
			break;
		}
	keep[n++] = &table->stats;
	if (table->nnodes > 1)
		keep[n++] = &table->nodes[table->self].peer;
	listener_inherit_prune(keep, n);
}

/*
 * At start: when $VCOMP_HANDOVER names a state, reads and checks it (the
 * variable is unset and the memfd closed either way).  Returns true with
 * *h filled, every descriptor it names close-on-exec (one whose adoption
 * fails must not leak into a later exec) and its listeners in conn.c's
 * pool (listener_open adopts them); false when there is none or it was
 * refused (logged, the descriptors handed over let go: the node starts
 * fresh).
 */
static bool
read_handover(struct handover *h)
{
	const char *node = table->nodes[table->self].name;
	char why[256] = "", *v, *buf = NULL;
	struct handed hd;
	int memfd;
	size_t n = 0;
	bool ok;

	if (getenv(HANDOVER_ENV) == NULL)
		return false;
	v = xstrdup(getenv(HANDOVER_ENV));
	unsetenv(HANDOVER_ENV);
	ok = parse_handover_env(v, &memfd, &hd) == 0;
	if (!ok)
		snprintf(why, sizeof why, "%s=%.100s does not parse",
		    HANDOVER_ENV, v);
	free(v);
	if (ok)
		ok = (buf = read_state(memfd, hd.known, &n, why,
		    sizeof why)) != NULL;
	if (memfd >= 0)
		close(memfd);
	if (ok) {
		ok = handover_read(h, buf, n, node, why, sizeof why) == 0;
		if (ok && !fds_usable(h, &hd, why, sizeof why)) {
			handover_free(h);
			ok = false;
		}
	}
	free(buf);
	if (!ok) {
		vlog(VL_ERR, "upgrade: handover state refused (%s); starting "
		    "fresh", why);
		refuse_inherited(&hd);
		free(hd.fd);
		return false;
	}
	if (h->ndropped > 0)
		vlog(VL_WARN, "upgrade: %zu inherited session(s) without a "
		    "stream header dropped", h->ndropped);
	for (size_t i = 0; i < h->nlisteners; i++)
		(void)fcntl(h->listeners[i].fd, F_SETFD, FD_CLOEXEC);
	for (size_t i = 0; i < h->nconns; i++)
		(void)fcntl(h->conns[i].fd, F_SETFD, FD_CLOEXEC);
	let_go_unused(h, &hd);
	free(hd.fd);
	for (size_t i = 0; i < h->nlisteners; i++)
		(void)listener_inherit(h->listeners[i].fd);
	prune_inherited();
	return true;
}

/* An inherited session whose component this table lacks (or no longer
 * homes here): what waited toward its users is written, what waited for
 * the component is answered as on a stop, then the stream ends. */
static void
let_go(const struct handover *h, const struct ho_conn *hc)
{
	struct vbuf b = { 0 };
	char name[128];
	size_t dropped = 0;

	vlog(VL_INFO, "upgrade: %s %s: not %s by this table; closing its "
	    "stream", hc->kind == HO_C_UPSTREAM ? "upstream" : "component",
	    hc->domain, hc->kind == HO_C_UPSTREAM ? "served" : "homed here");
	vbuf_add(&b, hc->out.p, hc->out.len);
	/* The queues of a component gone from the table leave on its
	 * upstream (a component still in it keeps them: route.c). */
	if (hc->kind == HO_C_UPSTREAM && comp_find_id(hc->comp_id) == NULL)
		dropped = route_handover_answer(h, hc->comp_id, hc->domain,
		    &b);
	if (dropped > 0)
		vlog(VL_WARN, "upgrade: %s: %zu queued error(s) or result(s) "
		    "dropped with the component", hc->domain, dropped);
	snprintf(name, sizeof name, "inherited %.100s", hc->domain);
	conn_bye_fd(hc->fd, name, b.p, b.len);
	vbuf_free(&b);
}

/* Continues every inherited session, then queues the stanzas again. */
static void
adopt_handover(const struct handover *h)
{
	size_t nsess = 0, nq;

	for (size_t i = 0; i < h->nconns; i++) {
		const struct ho_conn *hc = &h->conns[i];
		struct comp *c = comp_find_id(hc->comp_id);
		struct conn *conn = NULL;

		if (c != NULL && hc->kind == HO_C_UPSTREAM && c->up == NULL)
			conn = upstream_adopt(c, hc->fd, hc->hdr.p, hc->hdr.len);
		else if (c != NULL && hc->kind == HO_C_HOME &&
		    c->vc->role == VC_ROLE_HOME)
			conn = home_adopt(c, hc->fd, hc->hdr.p, hc->hdr.len);
		else {
			let_go(h, hc);
			continue;
		}
		if (conn == NULL)
			continue;
		(void)fcntl(hc->fd, F_SETFD, FD_CLOEXEC);
		nsess++;
		if (hc->out.len > 0)
			conn_send(conn, hc->out.p, hc->out.len);
		if (hc->in.len > 0)
			conn->ops->input(conn, hc->in.p, hc->in.len);
	}
	nq = h->nstanzas - route_handover_restore(h);
	vlog(VL_INFO, "upgraded in place: %zu of %zu session(s) continued, "
	    "%zu queued stanza(s) and %zu user(s) seen carried over", nsess,
	    h->nconns, nq, h->nseen);
}

int
node_run(const struct node_opts *o)
{
	const char *node;
	struct handover h;
	bool handed;
	int bad, warnings = 0;

	if (table->version != VCOMP_TABLE_VERSION)
		vfatal("routing table version %u, runtime expects %u",
		    table->version, VCOMP_TABLE_VERSION);
	node = table->nodes[table->self].name;
	bad = prepare(o, &warnings);
	if (bad > 0) {
		vlog(VL_ERR, "%d problem(s)%s; %s", bad, warnings ?
		    " and warnings" : "", o->check ? "the node would not start" :
		    "refusing to start");
		release();
		return 1;
	}
	if (o->check_upgrade) {
		/* The old image reads this line (preflight()). */
		printf(PREFLIGHT_LINE "\n", HANDOVER_VERSION);
		fflush(stdout);
		release();
		return 0;
	}
	if (o->check) {
		vlog(warnings ? VL_WARN : VL_INFO, "node %s: %zu component(s); "
		    "secrets, addresses and listening ports OK%s", node, ncomps,
		    warnings ? ", with warnings" : "");
		release();
		return 0;
	}
	self_exe = invoked_path(o->argv != NULL ? o->argv[0] : NULL);
	self_argv = o->argv;
	loop_init();
	loop_before_sleep(before_sleep);
	route_init();
	route_observe_homes(home_availability);
	handed = read_handover(&h);
	if (setup_signals() < 0 || home_listen() < 0 || stats_listen() < 0 ||
	    peer_start() < 0) {
		if (handed)
			handover_free(&h);
		listener_inherit_done();
		release();
		return 1;
	}
	listener_inherit_done();
	if (handed) {
		adopt_handover(&h);
		handover_free(&h);
	}
	vlog(VL_INFO, "node %s: %zu component(s), server %s:%u", node, ncomps,
	    table->server.host, table->server.port);
	/* With clustered servers a virtual node registers a component
	 * only while a home of it is available (home_availability). */
	for (size_t i = 0; i < ncomps; i++) {
		if (table->servers == VC_SERVERS_CLUSTERED &&
		    comps[i].vc->role == VC_ROLE_VIRTUAL) {
			if (comps[i].up == NULL)   /* not continued */
				comps[i].up_suspended = true;
			else
				/* Registered by the previous image: it
				 * stays so only if a home is reachable
				 * once the links had time to come up. */
				route_dest_unknown(&comps[i],
				    UPGRADE_HOME_GRACE_MS);
		}
		upstream_start(&comps[i]);
	}
	if (handed)
		route_homes_changed();
	/* Listeners are open and upstreams started: systemd (Type=notify)
	 * may now consider the node up (after an upgrade: reloaded). */
	notify_ready();
	status_on = getenv("NOTIFY_SOCKET") != NULL;
	(void)notify_watchdog_start();
	loop_run();
	notify_watchdog_stop();
	conn_close_all();
	stats_log();
	vlog(VL_INFO, "stopped");
	release();
	free(self_exe);
	self_exe = NULL;
	return 0;
}
