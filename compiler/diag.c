/*
 * diag.c — GCC-style diagnostics: "file:line:col: level: message [check]".
 */
#include <stdlib.h>

#include "vcompc.h"

bool diag_werror;
bool diag_wunused;
bool diag_nowarn;

static int nerrors, nwarnings;

static const char *const level_name[] = {
	[DIAG_NOTE] = "note",
	[DIAG_WARNING] = "warning",
	[DIAG_ERROR] = "error",
};

void
vdiag(enum diag_level lvl, const struct pos *p, const char *check,
      const char *fmt, va_list ap)
{
	if (lvl == DIAG_WARNING && diag_nowarn)
		return;
	if (lvl == DIAG_ERROR)
		nerrors++;
	else if (lvl == DIAG_WARNING)
		nwarnings++;
	fflush(stdout);
	if (p != NULL && p->file != NULL && p->line > 0)
		fprintf(stderr, "%s:%d:%d: ", p->file, p->line,
			p->col > 0 ? p->col : 1);
	else if (p != NULL && p->file != NULL)
		fprintf(stderr, "%s: ", p->file);
	else
		fputs("vcompc: ", stderr);
	fprintf(stderr, "%s: ", level_name[lvl]);
	vfprintf(stderr, fmt, ap);
	if (check != NULL)
		fprintf(stderr, " [%s]", check);
	fputc('\n', stderr);
}

void
diag(enum diag_level lvl, const struct pos *p, const char *check,
     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vdiag(lvl, p, check, fmt, ap);
	va_end(ap);
}

int
diag_error_count(void)
{
	return nerrors;
}

bool
diag_failed(void)
{
	return nerrors > 0 || (diag_werror && nwarnings > 0);
}

int
diag_warning_count(void)
{
	return nwarnings;
}
