/* config.c - reading WEFT_* environment variables.
 *
 * Each variable is read once, by whoever needs it first.  A value that
 * cannot be understood gets one line on stderr and the default: a typo in
 * the environment must never crash the program weft runs under.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Says on stderr that name=value is ignored, and why; see core.h. */
void weft__env_ignored(const char *name, const char *value, const char *want)
{
	char msg[256] = "", shown[68] = "";

	/* At most 64 bytes of the value, control characters as '?', so
	 * that what weft uses instead stays on the one line. */
	weft__cat(shown, 65, value);
	for (char *p = shown; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '?';
	if (strlen(value) > 64)
		weft__cat(shown, sizeof shown, "...");
	weft__cat(msg, sizeof msg, "ignoring ");
	weft__cat(msg, sizeof msg, name);
	weft__cat(msg, sizeof msg, "=");
	weft__cat(msg, sizeof msg, shown);
	weft__cat(msg, sizeof msg, ": ");
	weft__cat(msg, sizeof msg, want);
	weft__say(msg);
}

/* Reads a size in bytes, with an optional K, M or G suffix (powers of
 * 1024; "KiB", "KB" and lower case are accepted too).  Returns def when
 * the variable is unset or bad, or the value is outside [min, max]. */
size_t weft__env_size(const char *name, size_t def, size_t min, size_t max)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		return def;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	unsigned shift = 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	}
	if (shift && (strcmp(end, "iB") == 0 || strcmp(end, "B") == 0))
		end += strlen(end);
	if (errno || end == v || *end != '\0' || v[0] == '-' ||
	    n > (max >> shift) || (n << shift) < min) {
		char want[128] = "want a size from ";
		weft__cat_u64(want, sizeof want, min >> 10);
		weft__cat(want, sizeof want, "K to ");
		weft__cat_u64(want, sizeof want, max >> 20);
		weft__cat(want, sizeof want, "M; using the default, ");
		weft__cat_u64(want, sizeof want, def >> 10);
		weft__cat(want, sizeof want, "K");
		weft__env_ignored(name, v, want);
		return def;
	}
	return (size_t)(n << shift);
}

/* Reads a flag: "0" or "1"; def when unset, empty, or anything else
 * (which is reported). */
bool weft__env_flag(const char *name, bool def)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		return def;
	if (strcmp(v, "0") == 0 || strcmp(v, "1") == 0)
		return *v == '1';
	weft__env_ignored(name, v, def ? "want 0 or 1; taking 1"
				       : "want 0 or 1; taking 0");
	return def;
}

/* Reads a whole number in [min, max]; def when unset, empty, or anything
 * else (which is reported). */
unsigned weft__env_count(const char *name, unsigned def, unsigned min,
			 unsigned max)
{
	const char *v = getenv(name);
	const char *p = v;
	unsigned long n = 0;

	if (v == NULL || *v == '\0')
		return def;
	while (*p >= '0' && *p <= '9' && n <= max)
		n = n * 10 + (unsigned)(*p++ - '0');
	if (*p == '\0' && n >= min && n <= max)
		return (unsigned)n;
	char want[128] = "want a number from ";
	weft__cat_u64(want, sizeof want, min);
	weft__cat(want, sizeof want, " to ");
	weft__cat_u64(want, sizeof want, max);
	weft__cat(want, sizeof want, "; using ");
	weft__cat_u64(want, sizeof want, def);
	weft__env_ignored(name, v, want);
	return def;
}
