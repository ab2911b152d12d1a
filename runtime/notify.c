/*
 * notify.c — the sd_notify(3) protocol without libsystemd.
 *
 * The protocol is one datagram per message on the AF_UNIX socket named by
 * $NOTIFY_SOCKET, holding newline-separated VAR=value assignments.  The
 * name is a path ("/run/systemd/notify") or, when it starts with '@', an
 * abstract socket whose name is the rest, stored after a leading NUL byte
 * and not NUL-terminated (unix(7)): its address length counts exactly the
 * name's bytes.
 *
 * A node binary is static and small, and libsystemd would bring its own
 * dependencies for these few lines, so the runtime speaks the protocol
 * itself.
 *
 * The send may block while the service manager's queue is full; a
 * one-second send timeout keeps a wedged manager from stopping the event
 * loop.  A lost READY=1 shows as a start timeout in systemd, which is why
 * a failure is logged.
 *
 * Two pieces keep a little state: the last STATUS= text sent (so that
 * notify_status_changed() sends only changes), and the watchdog timer,
 * which runs on the event loop on purpose: a loop that is stuck stops
 * sending WATCHDOG=1, and systemd restarts the node.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "vcrt.h"

/* Fills *sa from name; returns the address length, or 0 when name is not
 * an absolute path or an abstract name, or does not fit. */
static socklen_t
notify_addr(const char *name, struct sockaddr_un *sa)
{
	size_t n = strlen(name);

	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (name[0] == '@') {
		/* The '@' becomes the leading NUL; n bytes in all. */
		if (n < 2 || n > sizeof sa->sun_path)
			return 0;
		memcpy(sa->sun_path + 1, name + 1, n - 1);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	if (name[0] != '/' || n >= sizeof sa->sun_path)
		return 0;
	memcpy(sa->sun_path, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

int
notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct timeval tv = { .tv_sec = 1 };
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t r;
	int fd, e;

	if (name == NULL || name[0] == '\0')
		return 0;
	len = notify_addr(name, &sa);
	if (len == 0) {
		vlog(VL_WARN, "NOTIFY_SOCKET='%s' is not a socket path or "
		    "@abstract name that fits a unix socket address", name);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		vlog(VL_WARN, "notify: socket: %s", strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	do
		r = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		    (struct sockaddr *)&sa, len);
	while (r < 0 && errno == EINTR);
	e = errno;
	close(fd);
	if (r < 0) {
		vlog(VL_WARN, "notify: cannot send '%s' to %s: %s", state,
		    name, strerror(e));
		return -1;
	}
	vlog(VL_DEBUG, "notify: sent '%s'", state);
	return 1;
}

void
notify_ready(void)
{
	(void)notify_send("READY=1");
}

void
notify_stopping(void)
{
	(void)notify_send("STOPPING=1");
}

/* The last STATUS= text sent, by either function: a status set
 * directly ("upgrading in place") must not make notify_status_changed
 * believe the summary it sent before is still shown. */
static char status_last[NOTIFY_STATUS_MAX + 1];

void
notify_status(const char *text)
{
	char msg[sizeof "STATUS=" + NOTIFY_STATUS_MAX];

	snprintf(status_last, sizeof status_last, "%s", text);
	snprintf(msg, sizeof msg, "STATUS=%s", text);
	for (char *p = msg; *p != '\0'; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	(void)notify_send(msg);
}

void
notify_status_changed(const char *text)
{
	if (strncmp(status_last, text, NOTIFY_STATUS_MAX) == 0)
		return;
	notify_status(text);
}

static struct timer watchdog;
static uint64_t watchdog_ms;

static void
watchdog_fire(struct timer *t)
{
	(void)notify_send("WATCHDOG=1");
	timer_arm(t, watchdog_ms);
}

uint64_t
notify_watchdog_start(void)
{
	const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long us;
	char *end;

	if (usec == NULL || usec[0] == '\0')
		return 0;
	/* WATCHDOG_PID, when set, names the process meant (sd_watchdog_
	 * enabled(3)): a child that inherited the variable is not it. */
	if (pid != NULL && pid[0] != '\0' &&
	    strtoull(pid, NULL, 10) != (unsigned long long)getpid())
		return 0;
	errno = 0;
	us = strtoull(usec, &end, 10);
	if (errno != 0 || *end != '\0' || us == 0) {
		vlog(VL_WARN, "WATCHDOG_USEC='%s' is not a positive number of "
		    "microseconds; no watchdog", usec);
		return 0;
	}
	/* Half the timeout, as sd_watchdog_enabled(3) recommends, so one
	 * late loop pass does not get the node killed. */
	watchdog_ms = us / 2000;
	if (watchdog_ms == 0)
		watchdog_ms = 1;
	watchdog.fn = watchdog_fire;
	vlog(VL_INFO, "systemd watchdog: WATCHDOG=1 every %" PRIu64 " ms",
	    watchdog_ms);
	watchdog_fire(&watchdog);
	return watchdog_ms;
}

void
notify_watchdog_stop(void)
{
	timer_stop(&watchdog);
}
