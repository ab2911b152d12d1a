/*
 * fuzz_tdsl.c — libFuzzer target for the Tigase 8 config.tdsl front end:
 * the flex scanner, the bison grammar, the evaluation of values and the
 * Tigase semantics on arbitrary bytes.  Diagnostics are expected and go to /dev/null; what
 * the fuzzer looks for is a crash, a sanitizer report or a hang.
 *
 * The IR lives in the arena, which is released after every input.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

/* Weak: present under the sanitizers (libFuzzer's build, make check's
 * SAN=1 pass); absent in the plain seed run (tests/fuzz/seed_driver.c). */
void __sanitizer_set_report_fd(void *fd) __attribute__((weak));

#include "vcompc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

/*
 * vcompc reports to stderr, and most fuzz inputs are full of mistakes.
 * stderr points at /dev/null while the front end runs and is given back
 * afterwards, so libFuzzer's own messages still show; sanitizer reports
 * (which happen inside the front end) go to the real stderr directly.
 */
static int real_stderr = -1, null_fd = -1;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	real_stderr = dup(STDERR_FILENO);
	null_fd = open("/dev/null", O_WRONLY);
	devnull = fdopen(dup(null_fd), "w");
	if (real_stderr < 0 || null_fd < 0 || devnull == NULL)
		abort();
	if (__sanitizer_set_report_fd != NULL)
		__sanitizer_set_report_fd((void *)(intptr_t)real_stderr);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_state *doc;
	struct ir_spec spec;
	char *text;

	if (size > VC_MAX_SPEC_BYTES)
		return 0;
	/* tdsl_read gets what read_spec_file gives: an arena copy with a
	 * NUL after the last byte. */
	fflush(stderr);
	dup2(null_fd, STDERR_FILENO);
	text = xstrndup((const char *)data, size);
	memset(&spec, 0, sizeof spec);
	spec.path = "fuzz.tdsl";
	/* The tree of a file with syntax errors is partial but well
	 * formed; vcompc stops there, the fuzzer goes on for coverage. */
	(void)tdsl_read("fuzz.tdsl", text, size, &doc);
	tdsl_emit_keys(devnull, doc);
	(void)tdsl_to_ir(doc, &spec);
	arena_release();
	fflush(stderr);
	dup2(real_stderr, STDERR_FILENO);
	return 0;
}
