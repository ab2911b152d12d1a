/*
 * test_preauth.c — which unauthenticated connection makes room for a new
 * one (runtime/preauth.c).  The connections are bare structs: only the
 * list fields are used while no eviction is due, and preauth_victim()
 * answers without closing anything.
 */
#include <string.h>

#include "../unit.h"
#include "vcrt.h"

static struct conn conns[8];

static void
test_victims(void)
{
	struct preauth pa = { .what = "test", .max_total = 4,
	    .max_source = 2 };
	struct conn *a1 = &conns[0], *a2 = &conns[1], *b1 = &conns[2],
	    *c1 = &conns[3];
	const char *why = NULL;

	memset(conns, 0, sizeof conns);
	CU_ASSERT_PTR_NULL(preauth_victim(&pa, "10.0.0.1:4000", &why));
	preauth_add(&pa, a1, "10.0.0.1:4000");
	preauth_add(&pa, a2, "10.0.0.1:4001");
	preauth_add(&pa, b1, "::1:4002");
	CU_ASSERT_STRING_EQUAL(b1->pa_src, "::1");
	CU_ASSERT_EQUAL(pa.n, 3);
	/* A third one from 10.0.0.1 pushes out that host's oldest idle. */
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.1:5000", &why), a1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "one address"));
	/* Progress protects: the idle one goes first, whatever its age. */
	preauth_progress(a1, true);
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.1:5000", &why), a2);
	/* When all of that host progressed, its oldest. */
	preauth_progress(a2, true);
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.1:5000", &why), a1);
	/* Another host under both bounds takes nobody's place. */
	CU_ASSERT_PTR_NULL(preauth_victim(&pa, "10.0.0.9:1", &why));
	preauth_add(&pa, c1, "10.0.0.9:1");
	/* Full: a new host pushes out the oldest idle of any host (b1),
	 * never a1 or a2, which spoke the protocol. */
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.7:1", &why), b1);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "unauthenticated connections"));
	preauth_progress(b1, true);
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.7:1", &why), c1);
	preauth_progress(c1, true);
	CU_ASSERT_PTR_EQUAL(preauth_victim(&pa, "10.0.0.7:1", &why), a1);
	/* Authenticated ones leave the list, from anywhere in it. */
	preauth_remove(b1);
	CU_ASSERT_EQUAL(pa.n, 3);
	CU_ASSERT_PTR_NULL(b1->pa);
	CU_ASSERT_PTR_EQUAL(pa.head, a1);
	CU_ASSERT_PTR_EQUAL(a2->pa_next, c1);
	CU_ASSERT_PTR_EQUAL(c1->pa_prev, a2);
	preauth_remove(b1);             /* twice: no-op */
	CU_ASSERT_EQUAL(pa.n, 3);
	preauth_remove(a1);
	preauth_remove(c1);
	CU_ASSERT_PTR_EQUAL(pa.head, a2);
	CU_ASSERT_PTR_EQUAL(pa.tail, a2);
	preauth_remove(a2);
	CU_ASSERT_PTR_NULL(pa.head);
	CU_ASSERT_PTR_NULL(pa.tail);
	CU_ASSERT_EQUAL(pa.n, 0);
}

UNIT_SUITE(runtime_preauth)
{
	UNIT_TEST(suite, test_victims);
}
