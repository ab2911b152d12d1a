/*
 * main.c — the unit-test runner: every registered suite, CUnit's basic
 * interface, CUnit's summary on stdout, exit 1 on any failure.
 * An argument runs only the suites whose name contains it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "unit.h"

#define MAX_SUITES 128

static struct {
	const char *name;
	unit_suite_fn fn;
} suites[MAX_SUITES];
static int nsuites;

void
unit_register(const char *name, unit_suite_fn fn)
{
	if (nsuites == MAX_SUITES) {
		fprintf(stderr, "unit: more than %d suites\n", MAX_SUITES);
		exit(2);
	}
	suites[nsuites].name = name;
	suites[nsuites].fn = fn;
	nsuites++;
}

const char *
unit_data(const char *name)
{
	static char path[4096];
	const char *dir = getenv("UNIT_DATA");

	snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/unit/data", name);
	return path;
}

static int
by_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

int
main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	/* Constructors run in link order; sort for a stable report. */
	qsort(suites, (size_t)nsuites, sizeof suites[0], by_name);
	for (int i = 0; i < nsuites; i++) {
		if (only != NULL && strstr(suites[i].name, only) == NULL)
			continue;
		CU_pSuite s = CU_add_suite(suites[i].name, NULL, NULL);
		if (s == NULL)
			return 2;
		suites[i].fn(s);
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_error() != CUE_SUCCESS)
		failed++;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
