/*
 * conn.c — TCP connections: non-blocking connect and accept, output
 * buffers, backpressure, close observers, and the two before-sleep steps
 * that node.c runs (conn_flush writes, conn_reap frees).
 *
 * Writing: conn_send() only appends to the connection's output and puts it
 * on the pending list.  Before the loop sleeps, conn_flush() writes each
 * pending buffer directly; only when the kernel did not take everything
 * does the connection ask for EPOLLOUT (Redis's handleClientsWithPendingWrites).
 *
 * Backpressure: conn_relay(dst, src, ...) is how bytes read from one
 * connection go to another.  When dst's unsent output reaches its cap, src
 * is added to dst's waiters and stops being read (EPOLLIN off).  When dst
 * drains below half its cap, or dies, every waiter is released.  A source
 * may overshoot the cap by what it already read: at most one READ_CHUNK of
 * stanzas plus one max_stanza per source, so memory stays bounded.
 * Other layers that must hold a source back for reasons of their own (the
 * peer delivery layer, until ACKs come) use conn_pause()/conn_resume(),
 * which count in the same place: a connection is read only while nothing
 * holds it.  No other file touches blocked or the connection's io.
 *
 * Close observers: a layer that keeps pointers to connections it does not
 * own (the delivery layer's receipts and paused sources) registers
 * conn_on_close() once and is told of every close, before the owner's own
 * closed callback; no connection type has to know who else is watching.
 *
 * Lifetime: conn_close() closes the socket at once, tells the owner
 * (ops->closed) and puts the connection on the reap list; the memory (and
 * the parser, which may be the caller's caller) is freed by conn_reap(), before
 * the next epoll_wait.
 *
 * Transport filter (peer links: tls.c): bytes read go to filter->input,
 * which passes plaintext on to ops->input; conn_send() stages plaintext in
 * c->stage, and conn_flush() lets filter->seal turn it into wire bytes
 * (one record for everything staged since the last write) right before
 * writing.  See struct conn_filter.
 *
 * Delivery accounting: nqueued and nwritten count every byte ever queued
 * and written, so a caller that notes nqueued right after queueing a
 * stanza knows it has reached the kernel once nwritten gets there (peer
 * links acknowledge frames that way).
 */
#define _GNU_SOURCE         /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "vcrt.h"

struct conn *conn_all;
/* The most close observers; the runtime registers one (delivery.c). */
#define MAX_OBSERVERS	4
static struct {
	conn_close_fn *fn;
	void *arg;
} observers[MAX_OBSERVERS];
static int nobservers;
static struct conn *pending;   /* connections with output to write */
static struct conn *reaplist;  /* closed connections to free */
static struct listener *dead_listeners;  /* closed listeners to free */
struct listener *listener_all;
/* Listening sockets an earlier image handed over (listener_inherit), not
 * yet adopted by listener_open. */
static int *inherited;
static size_t ninherited;

static void conn_event(void *arg, uint32_t events);

/* Wire bytes not yet written. */
static size_t
out_left(const struct conn *c)
{
	return c->out.len - c->ooff;
}

static void
update_events(struct conn *c)
{
	uint32_t ev = 0;

	if (c->flags & C_DEAD)
		return;
	if (c->flags & C_CONNECTING)
		ev = EPOLLOUT;
	else {
		if (c->blocked == 0 && !(c->flags & C_DRAIN))
			ev |= EPOLLIN;
		/* EPOLLOUT only while a write left something behind and the
		 * connection is not on the pending list (which writes it).
		 * Wire bytes only: plaintext a filter cannot seal yet (during
		 * its handshake) would make EPOLLOUT fire without end; the
		 * filter kicks the connection once it can. */
		if (out_left(c) > 0 && !(c->flags & C_PENDING))
			ev |= EPOLLOUT;
	}
	io_want(&c->io, ev);
}

size_t
conn_pending(const struct conn *c)
{
	return out_left(c) + c->stage.len;
}

bool
conn_full(const struct conn *c)
{
	return conn_pending(c) >= c->cap;
}

/*
 * Written, minus what the kernel still holds unacknowledged (SIOCOUTQ).
 * Bytes merely written are not enough: when a process is killed with
 * unread input, its kernel answers with a reset and throws its send queue
 * away — measured, 41 stanzas of 10 000 lost that way.
 */
uint64_t
conn_acked(const struct conn *c)
{
	int outq = 0;

	if (c->io.fd < 0 || ioctl(c->io.fd, SIOCOUTQ, &outq) < 0 || outq < 0)
		return 0;
	return c->nwritten - (uint64_t)outq;
}

struct conn *
conn_new(int fd, enum conn_kind kind, const struct conn_ops *ops, void *owner,
    bool connecting, size_t cap)
{
	struct conn *c = xcalloc(1, sizeof *c);
	int one = 1;

	c->kind = kind;
	c->ops = ops;
	c->owner = owner;
	c->cap = cap ? cap : 1;
	c->io.fd = -1;
	if (connecting)
		c->flags |= C_CONNECTING;
	/* Stanzas are small and latency matters more than segment count. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (io_add(&c->io, fd, connecting ? EPOLLOUT : EPOLLIN, conn_event,
	    c) < 0) {
		close(fd);
		free(c);
		return NULL;
	}
	c->next = conn_all;
	if (conn_all != NULL)
		conn_all->prev = c;
	conn_all = c;
	return c;
}

struct conn *
conn_connect(const struct sockaddr *sa, socklen_t salen, enum conn_kind kind,
    const struct conn_ops *ops, void *owner, size_t cap)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);

	if (fd < 0)
		return NULL;
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		int e = errno;

		close(fd);
		errno = e;
		return NULL;
	}
	/* Even a connect() that finished at once (loopback can) is reported
	 * from the loop, when EPOLLOUT fires, so callers see one order. */
	return conn_new(fd, kind, ops, owner, true, cap);
}

void
conn_kick(struct conn *c)
{
	if (!(c->flags & (C_PENDING | C_CONNECTING | C_DEAD))) {
		c->flags |= C_PENDING;
		c->pnext = pending;
		pending = c;
	}
}

void
conn_send_wire(struct conn *c, const void *p, size_t n)
{
	if (c->flags & C_DEAD || n == 0)
		return;
	vbuf_add(&c->out, p, n);
	c->nqueued += n;
	c->last_out = loop_now();
	conn_kick(c);
}

void
conn_send(struct conn *c, const void *p, size_t n)
{
	if (c->filter == NULL) {
		conn_send_wire(c, p, n);
		return;
	}
	if (c->flags & C_DEAD || n == 0)
		return;
	vbuf_add(&c->stage, p, n);
	conn_kick(c);
}

static void
add_waiter(struct conn *dst, struct conn *src)
{
	for (size_t i = 0; i < dst->nwaiters; i++)
		if (dst->waiters[i] == src)
			return;
	if (dst->nwaiters == dst->capwaiters) {
		size_t cap = dst->capwaiters ? dst->capwaiters * 2 : 4;
		struct conn **w = xrealloc(dst->waiters, cap * sizeof *w);

		dst->waiters = w;
		dst->capwaiters = cap;
	}
	dst->waiters[dst->nwaiters++] = src;
	src->blocked++;
	vlog(VL_DEBUG, "%s: output full (%zu bytes), pausing %s", dst->name,
	    conn_pending(dst), src->name);
	update_events(src);
}

static void
release_waiters(struct conn *dst)
{
	for (size_t i = 0; i < dst->nwaiters; i++) {
		struct conn *src = dst->waiters[i];

		src->blocked--;
		if (src->blocked == 0)
			vlog(VL_DEBUG, "%s: resuming", src->name);
		update_events(src);
	}
	dst->nwaiters = 0;
}

void
conn_on_close(conn_close_fn *fn, void *arg)
{
	for (int i = 0; i < nobservers; i++)
		if (observers[i].fn == fn && observers[i].arg == arg)
			return;
	if (nobservers == MAX_OBSERVERS)
		vfatal("too many connection close observers");
	observers[nobservers].fn = fn;
	observers[nobservers].arg = arg;
	nobservers++;
}

void
conn_pause(struct conn *c)
{
	if (c->flags & C_DEAD)
		return;
	c->blocked++;
	update_events(c);
}

void
conn_resume(struct conn *c)
{
	if (c->flags & C_DEAD || c->blocked == 0)
		return;
	if (--c->blocked == 0)
		vlog(VL_DEBUG, "%s: resuming", c->name);
	update_events(c);
}

bool
conn_paused(const struct conn *c)
{
	return c->blocked > 0;
}

void
conn_relay(struct conn *dst, struct conn *src, const void *p, size_t n)
{
	conn_send(dst, p, n);
	if (src != NULL && !(src->flags & C_DEAD) && conn_full(dst))
		add_waiter(dst, src);
}

/* Writes as much of c's output as the kernel takes.  Returns -1 when the
 * connection died. */
static int
write_out(struct conn *c)
{
	while (out_left(c) > 0) {
		ssize_t w = write(c->io.fd, c->out.p + c->ooff,
		    out_left(c));

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c, strerror(errno));
			return -1;
		}
		c->ooff += (size_t)w;
		c->nwritten += (size_t)w;
	}
	if (out_left(c) == 0) {
		vbuf_clear(&c->out);
		c->ooff = 0;
		/* A big burst should not pin its memory forever. */
		if (c->out.cap > 65536) {
			vbuf_free(&c->out);
		}
	} else if (c->ooff > 65536 && c->ooff > c->out.len / 2) {
		vbuf_drop(&c->out, c->ooff);
		c->ooff = 0;
	}
	if (c->nwaiters > 0 && conn_pending(c) < c->cap / 2)
		release_waiters(c);
	if (conn_pending(c) < c->cap / 2 && c->ops->drained != NULL &&
	    !(c->flags & C_DEAD))
		c->ops->drained(c);
	if (conn_pending(c) == 0 && (c->flags & C_DRAIN)) {
		conn_close(c, NULL);
		return -1;
	}
	return 0;
}

void
conn_flush(void)
{
	/* drained() may queue more output on this or other connections,
	 * which puts them back on the list; loop until it is empty. */
	while (pending != NULL) {
		struct conn *c = pending;

		/* Seal while c is still at the head of the list (C_PENDING),
		 * so the filter's conn_send_wire() does not list it again; a
		 * filter that fails closes c, which takes it off the list. */
		if (c->filter != NULL && c->stage.len > 0 &&
		    !(c->flags & C_DEAD)) {
			c->filter->seal(c);
			if (c->flags & C_DEAD)
				continue;
		}
		pending = c->pnext;
		c->pnext = NULL;
		c->flags &= ~C_PENDING;
		if (c->flags & C_DEAD)
			continue;
		if (write_out(c) == 0)
			update_events(c);
	}
}

static void
handle_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(c->io.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		conn_close(c, strerror(err));
		return;
	}
	c->flags &= ~C_CONNECTING;
	update_events(c);
	if (c->ops->connected != NULL)
		c->ops->connected(c);
	/* Output queued while connecting is written by the next flush. */
	if (conn_pending(c) > 0 && !(c->flags & (C_PENDING | C_DEAD))) {
		c->flags |= C_PENDING;
		c->pnext = pending;
		pending = c;
	}
}

static void
handle_read(struct conn *c)
{
	char buf[READ_CHUNK];
	ssize_t n = read(c->io.fd, buf, sizeof buf);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c, strerror(errno));
		return;
	}
	if (n == 0) {
		conn_close(c, "connection closed by peer");
		return;
	}
	c->last_in = loop_now();
	if (c->filter != NULL)
		c->filter->input(c, buf, (size_t)n);
	else
		c->ops->input(c, buf, (size_t)n);
}

static void
conn_event(void *arg, uint32_t events)
{
	struct conn *c = arg;

	if (c->flags & C_CONNECTING) {
		handle_connected(c);
		return;
	}
	if ((events & EPOLLOUT) && !(c->flags & C_DEAD)) {
		if (write_out(c) < 0)
			return;
		update_events(c);
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) &&
	    !(c->flags & (C_DEAD | C_DRAIN)) && c->blocked == 0)
		handle_read(c);
	else if ((events & (EPOLLHUP | EPOLLERR)) && !(c->flags & C_DEAD))
		conn_close(c, "connection lost");
}

void
conn_close(struct conn *c, const char *why)
{
	int fd;

	if (c->flags & C_DEAD)
		return;
	c->flags |= C_DEAD;
	c->flags &= ~C_READY;
	preauth_remove(c);
	if (c->xs != NULL)
		xs_stop(c->xs);   /* no more callbacks from the current feed */
	timer_stop(&c->timer);
	timer_stop(&c->drain_timer);
	fd = c->io.fd;
	io_del(&c->io);
	close(fd);
	release_waiters(c);
	/* Forget c wherever it waits for a destination to drain. */
	for (struct conn *d = conn_all; d != NULL; d = d->next)
		for (size_t i = 0; i < d->nwaiters; i++)
			if (d->waiters[i] == c) {
				d->waiters[i] = d->waiters[--d->nwaiters];
				break;
			}
	c->blocked = 0;
	for (int i = 0; i < nobservers; i++)
		observers[i].fn(c, observers[i].arg);
	if (c->ops->closed != NULL)
		c->ops->closed(c, why);
	/* Unlink from conn_all now, so nothing iterating it finds c. */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conn_all = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	if (!(c->flags & C_PENDING)) {
		c->pnext = reaplist;
		reaplist = c;
	} else {
		/* Still on the pending list: conn_flush skips it, and
		 * the reaper must not free it under that list.  Take it off
		 * first. */
		struct conn **pp = &pending;

		while (*pp != NULL && *pp != c)
			pp = &(*pp)->pnext;
		if (*pp == c)
			*pp = c->pnext;
		c->flags &= ~C_PENDING;
		c->pnext = reaplist;
		reaplist = c;
	}
}

static void
drain_timeout(struct timer *t)
{
	struct conn *c = t->arg;

	conn_close(c, "peer did not read the end of the stream in time");
}

void
conn_finish(struct conn *c)
{
	if (c->flags & C_DEAD)
		return;
	c->flags |= C_DRAIN;
	c->flags &= ~C_READY;
	if (!timer_armed(&c->drain_timer)) {
		c->drain_timer.fn = drain_timeout;
		c->drain_timer.arg = c;
		timer_arm(&c->drain_timer, DRAIN_TIMEOUT_MS);
	}
	if (c->xs != NULL)
		xs_stop(c->xs);
	if (conn_pending(c) == 0 && !(c->flags & C_CONNECTING)) {
		conn_close(c, NULL);
		return;
	}
	update_events(c);
}

void
conn_end_stream(struct conn *c)
{
	static const char end[] = "</stream:stream>";

	if (!(c->flags & C_CLOSING))
		conn_send(c, end, sizeof end - 1);
	conn_finish(c);
}

void
conn_close_stream(struct conn *c)
{
	static const char end[] = "</stream:stream>";

	if (c->flags & (C_DEAD | C_DRAIN | C_CLOSING))
		return;
	conn_send(c, end, sizeof end - 1);
	c->flags |= C_CLOSING;
	c->flags &= ~C_READY;
	c->drain_timer.fn = drain_timeout;
	c->drain_timer.arg = c;
	timer_arm(&c->drain_timer, DRAIN_TIMEOUT_MS);
}

void
conn_reap(void)
{
	while (reaplist != NULL) {
		struct conn *c = reaplist;

		reaplist = c->pnext;
		xs_free(c->xs);
		if (c->filter != NULL)
			c->filter->free(c->fctx);
		vbuf_free(&c->stage);
		vbuf_free(&c->out);
		free(c->waiters);
		free(c);
	}
	while (dead_listeners != NULL) {
		struct listener *l = dead_listeners;

		dead_listeners = l->next_dead;
		free(l);
	}
}

const char *
conn_unsent(const struct conn *c, size_t *len)
{
	*len = c->out.len - c->ooff;
	return c->out.p + c->ooff;
}

static void
bye_input(struct conn *c, const char *p, size_t n)
{
	(void)c, (void)p, (void)n;
}

static const struct conn_ops bye_ops = { .input = bye_input };

void
conn_bye_fd(int fd, const char *name, const void *first, size_t n)
{
	struct conn *c;

	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	c = conn_new(fd, CK_HOME, &bye_ops, NULL, false, 4096);
	if (c == NULL)
		return;
	snprintf(c->name, sizeof c->name, "%s", name);
	if (n > 0)
		conn_send(c, first, n);
	conn_close_stream(c);
}

void
conn_close_all(void)
{
	while (conn_all != NULL)
		conn_close(conn_all, NULL);
	conn_reap();
}

/* ---------------------------------------------------------- listeners */

int
resolve(const char *host, uint16_t port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char sport[8];
	int e;

	/* Numeric addresses (the usual case) never touch NSS, which a
	 * static glibc binary can only load from the host's own libc. */
	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr)
	    == 1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons(port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	snprintf(sport, sizeof sport, "%u", port);
	e = getaddrinfo(host, sport, &hints, &res);
	if (e != 0) {
		vlog(VL_ERR, "cannot resolve %s: %s", host, gai_strerror(e));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
listener_event(void *arg, uint32_t events)
{
	struct listener *l = arg;

	/* Accept a bounded number per event so one busy listener cannot
	 * starve the others. */
	for (int i = 0; i < 16 && l->io.fd >= 0; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof ss;
		char host[NI_MAXHOST], serv[NI_MAXSERV], peer[NI_MAXHOST + NI_MAXSERV + 2];
		int fd = accept4(l->io.fd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				vlog(VL_WARN, "%s: accept: %s", l->name,
				    strerror(errno));
			return;
		}
		if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof host,
		    serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) != 0)
			snprintf(peer, sizeof peer, "?");
		else
			snprintf(peer, sizeof peer, "%s:%s", host, serv);
		l->accept(fd, peer);
	}
}

static struct listener *
listener_wrap(int fd, const char *host, uint16_t port, const char *what,
    void (*accept_fn)(int fd, const char *peer), const char *how)
{
	struct listener *l = xcalloc(1, sizeof *l);

	snprintf(l->name, sizeof l->name, "%s", what);
	l->accept = accept_fn;
	if (io_add(&l->io, fd, EPOLLIN, listener_event, l) < 0) {
		close(fd);
		free(l);
		return NULL;
	}
	l->next = listener_all;
	listener_all = l;
	vlog(VL_INFO, "%s: %s on %s:%u", what, how, host, port);
	return l;
}

/* Same family, port and address (the whole sockaddr for IPv4/IPv6). */
static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port &&
		    x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

		return x->sin6_port == y->sin6_port &&
		    memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

/* An inherited listening socket bound to ss, taken from the pool; -1
 * when there is none. */
static int
take_inherited(const struct sockaddr_storage *ss, socklen_t len)
{
	(void)len;
	for (size_t i = 0; i < ninherited; i++) {
		struct sockaddr_storage a;
		socklen_t alen = sizeof a;
		int fd = inherited[i];

		if (getsockname(fd, (struct sockaddr *)&a, &alen) < 0 ||
		    !same_addr(&a, ss))
			continue;
		inherited[i] = inherited[--ninherited];
		return fd;
	}
	return -1;
}

int
listener_inherit(int fd)
{
	int acc = 0;
	socklen_t alen = sizeof acc;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) < 0 ||
	    !acc) {
		vlog(VL_ERR, "upgrade: inherited descriptor %d is not a "
		    "listening socket; closed", fd);
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	inherited = xrealloc(inherited, (ninherited + 1) * sizeof *inherited);
	inherited[ninherited++] = fd;
	return 0;
}

void
listener_inherit_prune(const struct vc_endpoint *const *keep, size_t n)
{
	for (size_t i = 0; i < ninherited; ) {
		struct sockaddr_storage a, ss;
		socklen_t alen = sizeof a, len;
		bool wanted = false;

		if (getsockname(inherited[i], (struct sockaddr *)&a,
		    &alen) == 0)
			for (size_t k = 0; k < n && !wanted; k++)
				wanted = keep[k]->host != NULL &&
				    resolve(keep[k]->host, keep[k]->port, &ss,
				    &len) == 0 && same_addr(&a, &ss);
		if (wanted) {
			i++;
			continue;
		}
		vlog(VL_INFO, "upgrade: an inherited listening socket has no "
		    "address in this table; closed");
		close(inherited[i]);
		inherited[i] = inherited[--ninherited];
	}
}

void
listener_inherit_done(void)
{
	for (size_t i = 0; i < ninherited; i++) {
		vlog(VL_INFO, "upgrade: an inherited listening socket has no "
		    "address in this table; closed");
		close(inherited[i]);
	}
	free(inherited);
	inherited = NULL;
	ninherited = 0;
}

void
listener_hold(struct listener *l, bool hold)
{
	io_want(&l->io, hold ? 0 : EPOLLIN);
}

struct listener *
listener_open(const char *host, uint16_t port, const char *what,
    void (*accept_fn)(int fd, const char *peer))
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (resolve(host, port, &ss, &len) < 0)
		return NULL;
	if ((fd = take_inherited(&ss, len)) >= 0)
		return listener_wrap(fd, host, port, what, accept_fn,
		    "adopted from the previous image, listening");
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0) {
		vlog(VL_ERR, "%s: socket: %s", what, strerror(errno));
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, 64) < 0) {
		vlog(VL_ERR, "%s: cannot listen on %s:%u: %s", what, host,
		    port, strerror(errno));
		close(fd);
		return NULL;
	}
	return listener_wrap(fd, host, port, what, accept_fn, "listening");
}

void
listener_close(struct listener *l)
{
	int fd;

	if (l == NULL)
		return;
	fd = l->io.fd;
	io_del(&l->io);
	close(fd);
	for (struct listener **pp = &listener_all; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == l) {
			*pp = l->next;
			break;
		}
	/* Not freed here: a later event of the current batch may still
	 * point at l (a SIGTERM and a connection attempt reported together:
	 * the signal handler closes the listener first).  The loop skips
	 * it (fd -1) and the reaper frees it. */
	l->next_dead = dead_listeners;
	dead_listeners = l;
}
