/*
 * test_log.c — the runtime log (runtime/log.c): one line per message,
 * whatever the quoted peer input holds.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vcrt.h"
#include "../unit.h"

/* Runs vlog with stderr sent to a temporary file; returns what it wrote
 * (NUL-terminated in buf). */
static void
capture(char *buf, size_t size, const char *arg)
{
	FILE *tmp = tmpfile();
	int saved_fd, saved_level = vlog_level;
	const char *saved_prog = vlog_prog;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	saved_fd = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	vlog_level = VL_INFO;
	vlog_prog = "vcomp-test";
	vlog(VL_WARN, "component '%s': refused", arg);
	fflush(stderr);
	dup2(saved_fd, STDERR_FILENO);
	close(saved_fd);
	vlog_level = saved_level;
	vlog_prog = saved_prog;
	rewind(tmp);
	n = fread(buf, 1, size - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

static void
test_log_one_line(void)
{
	char out[512];

	capture(out, sizeof out, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(out, "vcomp-test: warning: component "
	    "'muc.example.test': refused\n");
	/* A newline in peer input cannot forge a second line. */
	capture(out, sizeof out, "x\nvcomp-test: error: forged\r\x1b[2J");
	CU_ASSERT_STRING_EQUAL(out, "vcomp-test: warning: component "
	    "'x?vcomp-test: error: forged??[2J': refused\n");
	CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
}

UNIT_SUITE(runtime_log)
{
	UNIT_TEST(suite, test_log_one_line);
}
