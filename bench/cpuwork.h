/* cpuwork.h - the CPU work cpuecho does for each request, and the
 * trailer that carries its result back.
 *
 * The work is FNV-1a (64-bit) over the request, repeated `rounds` times
 * with the hash carried from one round into the next.  Every byte is a
 * multiply that depends on the one before, so the loop cannot be
 * vectorised or shortened, and its cost is rounds * size multiplies'
 * latency.  bench/cpuecho.go computes the same figure.
 *
 * A reply is the request, byte for byte, followed by CPUWORK_TRAILER
 * bytes: rounds (4 bytes) and the hash (8 bytes), both little-endian.
 * The reply depends on the hash, so the compiler cannot drop the work,
 * and bench/loadgen.c (-H) can recompute it to check that it was done.
 *
 * Shared by bench/cpuecho.c and bench/loadgen.c; header-only so that
 * each is still built from one source file.
 */
#ifndef WEFT_BENCH_CPUWORK_H
#define WEFT_BENCH_CPUWORK_H

#include <stddef.h>
#include <stdint.h>

#define CPUWORK_TRAILER 12

/* FNV-1a over msg[0..len), rounds times; returns the hash. */
static inline uint64_t cpuwork_hash(const unsigned char *msg, size_t len,
				    uint32_t rounds)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV's 64-bit offset basis */

	for (uint32_t r = 0; r < rounds; r++)
		for (size_t i = 0; i < len; i++) {
			h ^= msg[i];
			h *= 0x100000001b3ull; /* FNV's 64-bit prime */
		}
	return h;
}

/* Writes the trailer for rounds and hash into out[0..CPUWORK_TRAILER). */
static inline void cpuwork_put_trailer(unsigned char *out, uint32_t rounds,
				       uint64_t hash)
{
	for (int i = 0; i < 4; i++)
		out[i] = (unsigned char)(rounds >> (8 * i));
	for (int i = 0; i < 8; i++)
		out[4 + i] = (unsigned char)(hash >> (8 * i));
}

/* Reads a trailer back into *rounds and *hash. */
static inline void cpuwork_get_trailer(const unsigned char *in,
				       uint32_t *rounds, uint64_t *hash)
{
	*rounds = 0;
	*hash = 0;
	for (int i = 0; i < 4; i++)
		*rounds |= (uint32_t)in[i] << (8 * i);
	for (int i = 0; i < 8; i++)
		*hash |= (uint64_t)in[4 + i] << (8 * i);
}

#endif
