/* check_main.c - runs every Check suite.
 *
 * Each tests/test_NAME.c defines Suite *suite_NAME(void); the Makefile
 * lists them in build/suites.h as SUITE(NAME) lines.  Tests run in Check's
 * fork mode, so each starts in a fresh process with no scheduler.
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *suite_##name(void);
#include "suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);

#define SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.h"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
