/*
 * loop.c — the event loop: epoll for file descriptors, a binary heap of
 * timers, and one before-sleep step (node.c's, which orders the work).
 *
 * The shape is Redis's ae.c.  Handlers never write to sockets themselves;
 * they append to a connection's output buffer, and the before-sleep step
 * (conn_flush, run by node.c) writes every pending buffer directly and asks epoll for EPOLLOUT
 * only when the kernel did not take everything.  Nothing is freed inside its
 * own callback: a connection that dies is marked and reaped later in the
 * before-sleep step, after the batch of events that might still name it.
 *
 * Ownership: struct io and struct timer are embedded in their owners; the
 * loop only points at them.  An owner must io_del() / timer_stop() before it
 * frees them.  The heap array is the loop's own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "vcrt.h"

#define MAX_EVENTS 64

static int epfd = -1;
static uint64_t now;
static int stopping;
static struct timer **heap;
static size_t nheap, capheap;
static loop_step *before_sleep;

uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
loop_now(void)
{
	return now;
}

void
loop_init(void)
{
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		vfatal("epoll_create1: %s", strerror(errno));
	now = clock_ms();
}

void
loop_before_sleep(loop_step *fn)
{
	before_sleep = fn;
}

void
loop_set_now(uint64_t t)
{
	now = t;
	loop_run_timers();
}

void
loop_stop(void)
{
	stopping = 1;
}

/* ---------------------------------------------------------------- io */

int
io_add(struct io *io, int fd, uint32_t events, io_fn *fn, void *arg)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->arg = arg;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		vlog(VL_ERR, "epoll_ctl add: %s", strerror(errno));
		io->fd = -1;
		return -1;
	}
	return 0;
}

void
io_want(struct io *io, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = io };

	if (io->fd < 0 || io->events == events)
		return;
	io->events = events;
	if (epoll_ctl(epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		vlog(VL_ERR, "epoll_ctl mod: %s", strerror(errno));
}

void
io_del(struct io *io)
{
	if (io->fd < 0)
		return;
	epoll_ctl(epfd, EPOLL_CTL_DEL, io->fd, NULL);
	/* Events already returned for this io in the current batch see
	 * fd == -1 and are skipped (the owner is reaped only later). */
	io->fd = -1;
}

/* ------------------------------------------------------------ timers */

/* heap[i]->slot == i + 1; slot 0 means "not armed". */

static void
heap_swap(size_t a, size_t b)
{
	struct timer *t = heap[a];

	heap[a] = heap[b];
	heap[b] = t;
	heap[a]->slot = a + 1;
	heap[b]->slot = b + 1;
}

static void
heap_up(size_t i)
{
	while (i > 0 && heap[(i - 1) / 2]->when > heap[i]->when) {
		heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < nheap && heap[l]->when < heap[m]->when)
			m = l;
		if (r < nheap && heap[r]->when < heap[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(i, m);
		i = m;
	}
}

void
timer_stop(struct timer *t)
{
	struct timer *moved;
	size_t i;

	if (t->slot == 0)
		return;
	i = t->slot - 1;
	t->slot = 0;
	nheap--;
	if (i == nheap)
		return;
	moved = heap[nheap];
	heap[i] = moved;
	moved->slot = i + 1;
	heap_up(i);
	heap_down(moved->slot - 1);
}

void
timer_at(struct timer *t, uint64_t when)
{
	timer_stop(t);
	if (nheap == capheap) {
		size_t cap = capheap ? capheap * 2 : 16;
		struct timer **h = xrealloc(heap, cap * sizeof *h);

		heap = h;
		capheap = cap;
	}
	t->when = when;
	heap[nheap] = t;
	t->slot = ++nheap;
	heap_up(nheap - 1);
}

void
timer_arm(struct timer *t, uint64_t delay_ms)
{
	timer_at(t, now + delay_ms);
}

void
loop_run_timers(void)
{
	/* A callback may arm timers due now; they run in the same pass,
	 * which is bounded because each run takes the timer off the heap
	 * and a re-armed timer is due strictly later unless delay 0. */
	while (nheap > 0 && heap[0]->when <= now) {
		struct timer *t = heap[0];

		timer_stop(t);
		t->fn(t);
	}
}

/* -------------------------------------------------------------- run */

void
loop_run(void)
{
	struct epoll_event evs[MAX_EVENTS];

	while (!stopping) {
		int timeout = -1, n;

		if (before_sleep != NULL)
			before_sleep();
		if (stopping)
			break;
		if (nheap > 0) {
			uint64_t w = heap[0]->when;

			timeout = w <= now ? 0 :
			    (w - now > 60000 ? 60000 : (int)(w - now));
		}
		n = epoll_wait(epfd, evs, MAX_EVENTS, timeout);
		now = clock_ms();
		if (n < 0 && errno != EINTR)
			vfatal("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct io *io = evs[i].data.ptr;

			if (io->fd >= 0)
				io->fn(io->arg, evs[i].events);
		}
		loop_run_timers();
	}
	/* Let the step write and reap what the last pass left. */
	if (before_sleep != NULL)
		before_sleep();
}
