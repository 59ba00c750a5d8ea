/* gthread.c - the registry of green threads: an open-addressing hash set
 * keyed by pthread_t, under a spin lock (see gthread.h). */
#include <stdlib.h>

#include "gthread.h"
#include "waitq.h"

#define TOMB ((struct weft__green *)1) /* a removed entry */

int weft__green_lock;
static struct weft__green **reg;
static size_t reg_cap;      /* a power of two, or 0 */
static size_t reg_used;     /* entries and tombstones */
static size_t reg_live;     /* entries */
static size_t reg_reserved; /* inserts promised by reg_reserve */

static size_t reg_hash(pthread_t id, size_t cap)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15u;

	return (size_t)(h >> 29) & (cap - 1);
}

/* See gthread.h. */
struct weft__green *weft__green_find_locked(pthread_t id)
{
	if (reg == NULL)
		return NULL;
	for (size_t i = reg_hash(id, reg_cap);; i = (i + 1) & (reg_cap - 1)) {
		struct weft__green *g = reg[i];
		if (g == NULL)
			return NULL;
		if (g != TOMB && g->id == id)
			return g;
	}
}

static void reg_place(struct weft__green **table, size_t cap,
		      struct weft__green *g)
{
	size_t i = reg_hash(g->id, cap);

	while (table[i] != NULL)
		i = (i + 1) & (cap - 1);
	table[i] = g;
}

/* See gthread.h. */
bool weft__green_reserve(void)
{
	bool ok = true;

	weft__spin_lock(&weft__green_lock);
	if ((reg_used + reg_reserved + 1) * 2 > reg_cap) {
		size_t cap = 16;
		while (cap < (reg_live + reg_reserved + 1) * 4)
			cap *= 2;
		struct weft__green **table = calloc(cap, sizeof *table);
		if (table == NULL) {
			ok = false;
		} else {
			for (size_t i = 0; i < reg_cap; i++)
				if (reg[i] != NULL && reg[i] != TOMB)
					reg_place(table, cap, reg[i]);
			free(reg);
			reg = table;
			reg_cap = cap;
			reg_used = reg_live;
		}
	}
	if (ok)
		reg_reserved++;
	weft__spin_unlock(&weft__green_lock);
	return ok;
}

/* See gthread.h. */
void weft__green_insert(struct weft__green *g)
{
	weft__spin_lock(&weft__green_lock);
	reg_reserved--;
	if (g != NULL) {
		reg_place(reg, reg_cap, g);
		reg_used++;
		reg_live++;
	}
	weft__spin_unlock(&weft__green_lock);
}

/* See gthread.h. */
void weft__green_remove_locked(struct weft__green *g)
{
	size_t i = reg_hash(g->id, reg_cap);

	while (reg[i] != g)
		i = (i + 1) & (reg_cap - 1);
	reg[i] = TOMB;
	reg_live--;
}

/* See gthread.h. */
struct weft__green *weft__green_first_locked(
	bool (*fn)(struct weft__green *, void *), void *arg)
{
	for (size_t i = 0; i < reg_cap; i++)
		if (reg[i] != NULL && reg[i] != TOMB && fn(reg[i], arg))
			return reg[i];
	return NULL;
}

/* See gthread.h. */
struct weft__green *weft__green_find(pthread_t id)
{
	weft__spin_lock(&weft__green_lock);
	struct weft__green *g = weft__green_find_locked(id);
	weft__spin_unlock(&weft__green_lock);
	return g;
}

/* See gthread.h. */
void weft__green_free(struct weft__green *g)
{
	if (g == NULL)
		return;
	free(g->affinity);
	free(g);
}
