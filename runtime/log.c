/*
 * log.c — the runtime's log: one line per event on stderr, with a level.
 *
 * A node runs under a supervisor (systemd, runit, a container runtime) that
 * captures stderr and adds its own timestamps, so a line is only
 * "vcomp-NODE: level: message".  -v raises the level to debug, -q lowers it
 * to errors only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "vcrt.h"

int vlog_level = VL_INFO;
const char *vlog_prog = "vcomp";

static const char *const level_names[] = {
	[VL_ERR] = "error",
	[VL_WARN] = "warning",
	[VL_INFO] = "info",
	[VL_DEBUG] = "debug",
};

void
vlogv(int level, const char *fmt, va_list ap)
{
	char line[2048];

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
	fprintf(stderr, "%s: %s: %s\n", vlog_prog, level_names[level], line);
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
