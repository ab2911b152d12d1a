/*
 * test_notify.c — the sd_notify protocol (runtime/notify.c) against real
 * datagram sockets: one bound in a temporary directory, one in the
 * abstract namespace.  Each test binds its own socket, points
 * NOTIFY_SOCKET at it, and reads back what the runtime sent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../unit.h"
#include "notify.h"
#include "vcrt.h"

static char dir[256];
static char sockpath[300];

/* Binds a datagram socket at the address NOTIFY_SOCKET would name and
 * returns it; receives time out after a second so a missing message
 * fails the test instead of hanging it. */
static int
bind_notify(const char *name)
{
	struct timeval tv = { .tv_sec = 1 };
	struct sockaddr_un sa;
	socklen_t len;
	size_t n = strlen(name);
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	CU_ASSERT_FATAL(n < sizeof sa.sun_path);
	memcpy(sa.sun_path, name, n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	if (name[0] == '@') {
		sa.sun_path[0] = '\0';
		len--;   /* abstract names are not NUL-terminated */
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, len) == 0);
	CU_ASSERT_FATAL(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof tv) == 0);
	CU_ASSERT_FATAL(setenv("NOTIFY_SOCKET", name, 1) == 0);
	return fd;
}

/* Receives one datagram as a string into buf; returns its length or -1. */
static ssize_t
recv_msg(int fd, char *buf, size_t size)
{
	ssize_t n = recv(fd, buf, size - 1, 0);

	buf[n < 0 ? 0 : n] = '\0';
	return n;
}

static int
path_socket(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/vcomp-notify-XXXXXX", t ? t : "/tmp");
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(sockpath, sizeof sockpath, "%s/notify", dir);
	return bind_notify(sockpath);
}

static void
path_cleanup(int fd)
{
	close(fd);
	unlink(sockpath);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_path_socket(void)
{
	char buf[1024];
	int fd = path_socket();

	notify_ready();
	CU_ASSERT_EQUAL(recv_msg(fd, buf, sizeof buf), 7);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1");
	notify_status("3 component(s), 1 upstream(s) up");
	recv_msg(fd, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "STATUS=3 component(s), 1 upstream(s) up");
	notify_stopping();
	recv_msg(fd, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "STOPPING=1");
	/* Nothing else was sent. */
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
	path_cleanup(fd);
}

static void
test_abstract_socket(void)
{
	char name[64], buf[256];
	int fd;

	snprintf(name, sizeof name, "@vcomp-test-notify-%ld-%d",
	    (long)getpid(), rand());
	fd = bind_notify(name);
	CU_ASSERT_EQUAL(notify_send("READY=1"), 1);
	CU_ASSERT_EQUAL(recv_msg(fd, buf, sizeof buf), 7);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1");
	notify_stopping();
	recv_msg(fd, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "STOPPING=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

/* A status with newlines must stay one STATUS= assignment, and a long one
 * is cut at NOTIFY_STATUS_MAX. */
static void
test_status_sanitised(void)
{
	char buf[1024], longtext[NOTIFY_STATUS_MAX * 2 + 1];
	int fd = path_socket();

	notify_status("up\nREADY=1\r\nx");
	recv_msg(fd, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "STATUS=up READY=1  x");
	CU_ASSERT_PTR_NULL(strchr(buf, '\n'));
	memset(longtext, 'a', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	notify_status(longtext);
	CU_ASSERT_EQUAL(recv_msg(fd, buf, sizeof buf),
	    (ssize_t)(strlen("STATUS=") + NOTIFY_STATUS_MAX));
	CU_ASSERT_EQUAL(strncmp(buf, "STATUS=aaaa", 11), 0);
	path_cleanup(fd);
}

/* A status sent directly (an upgrade's "upgrading in place") is what
 * the next summary is compared with: the summary shown before it is sent
 * again once the upgrade failed. */
static void
test_status_changed_after_direct(void)
{
	char buf[1024];
	int fd = path_socket();

	notify_status_changed("2/2 peer links up");
	recv_msg(fd, buf, sizeof buf);
	CU_ASSERT_STRING_EQUAL(buf, "STATUS=2/2 peer links up");
	notify_status_changed("2/2 peer links up");
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof buf, MSG_DONTWAIT), -1);
	notify_status("upgrading in place");
	recv_msg(fd, buf, sizeof buf);
	notify_status_changed("2/2 peer links up");
	/* Not waited for: a test that fails must not hang. */
	memset(buf, 0, sizeof buf);
	CU_ASSERT_EQUAL(recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT), 24);
	CU_ASSERT_STRING_EQUAL(buf, "STATUS=2/2 peer links up");
	path_cleanup(fd);
}

/* Outside systemd nothing is sent and nothing fails. */
static void
test_unset(void)
{
	unsetenv("NOTIFY_SOCKET");
	CU_ASSERT_EQUAL(notify_send("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CU_ASSERT_EQUAL(notify_send("READY=1"), 0);
	notify_ready();
	notify_stopping();
	unsetenv("NOTIFY_SOCKET");
}

/* Bad names and absent listeners are reported, not fatal. */
static void
test_errors(void)
{
	char longname[200];
	int saved = vlog_level;

	vlog_level = -1;   /* the warnings below are expected */
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	CU_ASSERT_EQUAL(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "@", 1);
	CU_ASSERT_EQUAL(notify_send("READY=1"), -1);
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	setenv("NOTIFY_SOCKET", longname, 1);
	CU_ASSERT_EQUAL(notify_send("READY=1"), -1);
	setenv("NOTIFY_SOCKET", "/nonexistent-vcomp-dir/notify", 1);
	CU_ASSERT_EQUAL(notify_send("READY=1"), -1);
	vlog_level = saved;
	unsetenv("NOTIFY_SOCKET");
}

UNIT_SUITE(notify_suite)
{
	UNIT_TEST(suite, test_path_socket);
	UNIT_TEST(suite, test_abstract_socket);
	UNIT_TEST(suite, test_status_sanitised);
	UNIT_TEST(suite, test_status_changed_after_direct);
	UNIT_TEST(suite, test_unset);
	UNIT_TEST(suite, test_errors);
}
