/*
 * unit.h — how a unit-test file joins the one CUnit binary.
 *
 * Each tests/unit/test_*.c declares its suites with UNIT_SUITE(name) { ... }
 * and, inside, adds its tests with CU_add_test on the suite the macro hands
 * it.  A constructor registers the suite, so no central list exists to edit.
 */
#ifndef UNIT_H
#define UNIT_H

#include <CUnit/CUnit.h>

typedef void (*unit_suite_fn)(CU_pSuite suite);
void unit_register(const char *name, unit_suite_fn fn);

#define UNIT_SUITE(fn)                                              \
	static void fn(CU_pSuite suite);                            \
	__attribute__((constructor)) static void fn##_register(void) \
	{                                                           \
		unit_register(#fn, fn);                             \
	}                                                           \
	static void fn(CU_pSuite suite)

#define UNIT_TEST(suite, f) CU_add_test((suite), #f, (f))

/* Path of a file under tests/unit/data, for tests that read fixtures. */
const char *unit_data(const char *name);

#endif
