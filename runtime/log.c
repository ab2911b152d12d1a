/*
 * log.c — the runtime's log: one line per event on stderr, with a level.
 *
 * A line is "vcomp-NODE: level: message", with one of two prefixes:
 *
 *   - When stderr is connected to the journal (systemd sets JOURNAL_STREAM
 *     to "DEVICE:INODE" of the stream it gave the service, and that is
 *     still stderr, not a redirection the service made), the sd-daemon(3)
 *     priority: "<3>" error, "<4>" warning, "<6>" info, "<7>" debug.
 *     journald strips it and stores the priority, so `journalctl -p
 *     warning` filters; it adds its own timestamps.
 *   - Otherwise an RFC 3339 UTC timestamp with milliseconds,
 *     "2026-12-04T16:59:00.123Z ", since nothing else will date the line.
 *
 * The choice is made once, at the first line (or by vlog_setup()).  -v raises the level to
 * debug, -q lowers it to errors only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "vcrt.h"

int vlog_level = VL_INFO;
const char *vlog_prog = "vcomp";

static const char *const level_names[] = {
	[VL_ERR] = "error",
	[VL_WARN] = "warning",
	[VL_INFO] = "info",
	[VL_DEBUG] = "debug",
};

static const char *const priorities[] = {
	[VL_ERR] = "<3>",
	[VL_WARN] = "<4>",
	[VL_INFO] = "<6>",
	[VL_DEBUG] = "<7>",
};

/* 1 when stderr is the journal's stream, 0 when not, -1 before the
 * first line decided. */
static int to_journal = -1;

bool
vlog_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (js == NULL || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
vlog_setup(void)
{
	to_journal = vlog_journal();
}

/* "2026-12-04T16:59:00.123Z" into buf (at least 64 bytes). */
static void
timestamp(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	char sec[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03ldZ", sec, ts.tv_nsec / 1000000);
}

void
vlogv(int level, const char *fmt, va_list ap)
{
	char line[2048], prefix[96];

	if (level > vlog_level)
		return;
	/* One write per line, so lines from a crashing process are not
	 * interleaved with the supervisor's own output. */
	vsnprintf(line, sizeof line, fmt, ap);
	/* Messages quote what peers sent (a stream header's to, a server's
	 * error text, a from): a control byte there must not start a forged
	 * log line of its own. */
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (to_journal < 0)
		to_journal = vlog_journal();
	if (to_journal)
		snprintf(prefix, sizeof prefix, "%s", priorities[level]);
	else {
		timestamp(prefix, sizeof prefix - 1);
		strcat(prefix, " ");
	}
	fprintf(stderr, "%s%s: %s: %s\n", prefix, vlog_prog,
	    level_names[level], line);
}

void
vlog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogv(level, fmt, ap);
	va_end(ap);
}

void
vfatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlogv(VL_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
