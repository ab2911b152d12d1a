/*
 * test_log.c — the runtime log (runtime/log.c): one line per message,
 * whatever the quoted peer input holds; "<N>" priorities when stderr is
 * the journal's stream, RFC 3339 timestamps otherwise.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vcrt.h"
#include "../unit.h"

/* Runs vlog with stderr sent to a temporary file; returns what it wrote
 * (NUL-terminated in buf).  journal: JOURNAL_STREAM names that file, as
 * systemd names the stream it gives a service. */
static void
capture_as(char *buf, size_t size, const char *arg, bool journal)
{
	FILE *tmp = tmpfile();
	int saved_fd, saved_level = vlog_level;
	const char *saved_prog = vlog_prog;
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	fflush(stderr);
	saved_fd = dup(STDERR_FILENO);
	dup2(fileno(tmp), STDERR_FILENO);
	if (journal) {
		struct stat st;
		char js[64];

		CU_ASSERT_FATAL(fstat(STDERR_FILENO, &st) == 0);
		snprintf(js, sizeof js, "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", js, 1);
	} else
		unsetenv("JOURNAL_STREAM");
	vlog_setup();
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
	unsetenv("JOURNAL_STREAM");
	vlog_setup();
}

static void
capture(char *buf, size_t size, const char *arg)
{
	capture_as(buf, size, arg, true);
}

static void
test_log_one_line(void)
{
	char out[512];

	capture(out, sizeof out, "muc.example.test");
	CU_ASSERT_STRING_EQUAL(out, "<4>vcomp-test: warning: component "
	    "'muc.example.test': refused\n");
	/* A newline in peer input cannot forge a second line. */
	capture(out, sizeof out, "x\nvcomp-test: error: forged\r\x1b[2J");
	CU_ASSERT_STRING_EQUAL(out, "<4>vcomp-test: warning: component "
	    "'x?vcomp-test: error: forged??[2J': refused\n");
	CU_ASSERT_PTR_EQUAL(strchr(out, '\n'), out + strlen(out) - 1);
}

static void
test_log_prefixes(void)
{
	char out[512];
	regex_t re;

	capture_as(out, sizeof out, "muc.example.test", true);
	CU_ASSERT_STRING_EQUAL(out, "<4>vcomp-test: warning: component "
	    "'muc.example.test': refused\n");
	/* Not the journal: an RFC 3339 UTC timestamp with milliseconds. */
	capture_as(out, sizeof out, "muc.example.test", false);
	CU_ASSERT_FATAL(regcomp(&re, "^[0-9]{4}-[01][0-9]-[0-3][0-9]T"
	    "[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z vcomp-test: "
	    "warning: component 'muc\\.example\\.test': refused\n$",
	    REG_EXTENDED) == 0);
	CU_ASSERT(regexec(&re, out, 0, NULL, 0) == 0);
	regfree(&re);
	/* JOURNAL_STREAM naming another file (stderr was redirected by the
	 * service): timestamps, not priorities. */
	setenv("JOURNAL_STREAM", "1:1", 1);
	CU_ASSERT(!vlog_journal());
	unsetenv("JOURNAL_STREAM");
	CU_ASSERT(!vlog_journal());
}

UNIT_SUITE(runtime_log)
{
	UNIT_TEST(suite, test_log_one_line);
	UNIT_TEST(suite, test_log_prefixes);
}
