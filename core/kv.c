/* kv.c - per-coroutine key/value store (what pthread keys map onto).
 *
 * Keys are global; each has a sequence number that changes when it is
 * deleted, so a value stored under a deleted key is never seen under the
 * key that reuses its index.  A coroutine's values live in an array grown
 * on demand, so coroutines that never use keys pay nothing.
 */
#include <stdlib.h>

#include "core.h"
#include "waitq.h"

#define KEYS_MAX 1024
#define DESTRUCTOR_ROUNDS 4

struct key {
	unsigned seq; /* odd while the key exists */
	void (*destructor)(void *);
};

struct weft__kv {
	unsigned cap;
	struct {
		unsigned seq;
		void *value;
	} slot[];
};

static int keys_lock; /* a spin lock: see waitq.h */
static struct key keys[KEYS_MAX];

static unsigned live_seq(weft_key k)
{
	return k < KEYS_MAX ? __atomic_load_n(&keys[k].seq, __ATOMIC_ACQUIRE)
			    : 0;
}

/* See weft.h. */
int weft_key_create(weft_key *key, void (*destructor)(void *))
{
	weft__spin_lock(&keys_lock);
	for (weft_key k = 0; k < KEYS_MAX; k++) {
		if (keys[k].seq % 2 == 0) {
			keys[k].destructor = destructor;
			__atomic_store_n(&keys[k].seq, keys[k].seq + 1,
					 __ATOMIC_RELEASE);
			weft__spin_unlock(&keys_lock);
			*key = k;
			return 0;
		}
	}
	weft__spin_unlock(&keys_lock);
	errno = EAGAIN;
	return -1;
}

/* See weft.h. */
int weft_key_delete(weft_key key)
{
	int r = 0;

	weft__spin_lock(&keys_lock);
	if (key < KEYS_MAX && keys[key].seq % 2 == 1)
		__atomic_store_n(&keys[key].seq, keys[key].seq + 1,
				 __ATOMIC_RELEASE);
	else
		r = -1;
	weft__spin_unlock(&keys_lock);
	if (r)
		errno = EINVAL;
	return r;
}

/* See weft.h. */
void *weft_getspecific(weft_key key)
{
	struct weft__kv *kv = weft__self()->kv;
	unsigned seq = live_seq(key);

	if (kv == NULL || key >= kv->cap || seq % 2 == 0 ||
	    kv->slot[key].seq != seq)
		return NULL;
	return kv->slot[key].value;
}

/* See weft.h. */
int weft_setspecific(weft_key key, const void *value)
{
	struct weft__co *co = weft__self();
	unsigned seq = live_seq(key);

	if (seq % 2 == 0) {
		errno = EINVAL;
		return -1;
	}
	struct weft__kv *kv = co->kv;
	if (kv == NULL || key >= kv->cap) {
		unsigned old = kv ? kv->cap : 0, cap = old ? old : 8;
		while (cap <= key)
			cap *= 2;
		kv = realloc(kv, sizeof *kv + cap * sizeof kv->slot[0]);
		if (kv == NULL) {
			errno = ENOMEM;
			return -1;
		}
		for (unsigned i = old; i < cap; i++)
			kv->slot[i].seq = 0, kv->slot[i].value = NULL;
		kv->cap = cap;
		co->kv = kv;
	}
	kv->slot[key].seq = seq;
	kv->slot[key].value = (void *)value;
	return 0;
}

/* Calls the destructors of co's non-NULL values, in rounds while they
 * store new ones, then frees the store; see core.h. */
void weft__kv_destroy(struct weft__co *co)
{
	struct weft__kv *kv = co->kv;

	if (kv == NULL)
		return;
	for (int round = 0; round < DESTRUCTOR_ROUNDS; round++) {
		bool called = false;
		for (unsigned k = 0; k < kv->cap; k++) {
			void *value = kv->slot[k].value;
			void (*destructor)(void *) = keys[k].destructor;
			if (value == NULL || kv->slot[k].seq != live_seq(k))
				continue;
			kv->slot[k].value = NULL;
			if (destructor) {
				destructor(value);
				called = true;
				kv = co->kv; /* it may have grown */
			}
		}
		if (!called)
			break;
	}
	free(co->kv);
	co->kv = NULL;
}
