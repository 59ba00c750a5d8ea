/* replay.c - runs the fuzz target (calls.c) on saved inputs, without
 * libFuzzer: the regression inputs in tests/fuzz/regress/ are replayed
 * this way by `make check`, with any compiler.
 *
 *	replay FILE|DIR...
 *
 * Each file, and each file in each directory (in name order), is given
 * to LLVMFuzzerTestOneInput once.  A difference between the woven and
 * the plain run aborts with the target's message; otherwise the number
 * of inputs replayed is printed and the exit status is 0.
 * WEFT_FUZZ_VERBOSE=1 prints each decoded program first.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inputs are small: the fuzzer is run with -max_len 4096. */
#define MAXLEN (1 << 20)

static int replay_file(const char *path)
{
	static uint8_t buf[MAXLEN];
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		perror(path);
		return -1;
	}
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (getenv("WEFT_FUZZ_VERBOSE"))
		fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays path, a file or a directory of files.  Returns the number of
 * inputs replayed, or -1 if path cannot be read. */
static int replay(const char *path)
{
	struct stat st;
	struct dirent **names;
	int count = 0;

	if (stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return replay_file(path) < 0 ? -1 : 1;
	int n = scandir(path, &names, NULL, by_name);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char full[4096];
		if (names[i]->d_name[0] != '.' &&
		    snprintf(full, sizeof full, "%s/%s", path,
			     names[i]->d_name) < (int)sizeof full &&
		    stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
			if (replay_file(full) < 0)
				count = -1;
			else if (count >= 0)
				count++;
		}
		free(names[i]);
	}
	free(names);
	return count;
}

int main(int argc, char **argv)
{
	int total = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		int n = replay(argv[i]);
		if (n < 0)
			return 1;
		total += n;
	}
	printf("weft fuzz replay: %d inputs, woven and plain runs agree\n",
	       total);
	return 0;
}
