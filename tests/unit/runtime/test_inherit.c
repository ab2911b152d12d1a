/*
 * test_inherit.c — an in-place upgrade's new image and the listening
 * sockets it inherited (conn.c): one whose address the new table changed
 * on the same port (127.0.0.1:P -> 0.0.0.0:P) is closed before the new
 * listener binds, which would otherwise fail with EADDRINUSE.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit.h"
#include "vcrt.h"

static void
accept_none(int fd, const char *peer)
{
	(void)peer;
	close(fd);
}

/* A listening socket on 127.0.0.1, port chosen by the kernel. */
static int
listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void
test_changed_address_same_port(void)
{
	struct vc_endpoint any = { "0.0.0.0", 0 };
	const struct vc_endpoint *keep[] = { &any };
	struct listener *l;
	uint16_t port;
	int fd;

	loop_init();
	fd = listen_loopback(&port);
	CU_ASSERT_FATAL(fd >= 0);
	any.port = port;
	CU_ASSERT_EQUAL(listener_inherit(fd), 0);
	listener_inherit_prune(keep, 1);
	/* The inherited socket is gone: the port is free for 0.0.0.0. */
	l = listener_open("0.0.0.0", port, "unit listener", accept_none);
	CU_ASSERT_PTR_NOT_NULL(l);
	listener_close(l);
	listener_inherit_done();
}

static void
test_same_address_adopted(void)
{
	struct vc_endpoint lo = { "127.0.0.1", 0 };
	const struct vc_endpoint *keep[] = { &lo };
	struct listener *l;
	uint16_t port;
	int fd;

	loop_init();
	fd = listen_loopback(&port);
	CU_ASSERT_FATAL(fd >= 0);
	lo.port = port;
	CU_ASSERT_EQUAL(listener_inherit(fd), 0);
	listener_inherit_prune(keep, 1);
	l = listener_open("127.0.0.1", port, "unit listener", accept_none);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	/* Adopted, not bound anew. */
	CU_ASSERT_EQUAL(l->io.fd, fd);
	listener_close(l);
	listener_inherit_done();
}

UNIT_SUITE(inherit)
{
	UNIT_TEST(suite, test_changed_address_same_port);
	UNIT_TEST(suite, test_same_address_adopted);
}
