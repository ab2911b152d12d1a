/*
 * seed_driver.c — runs a fuzz target's LLVMFuzzerTestOneInput over the
 * files named on the command line (directories: every regular file in
 * them, in name order), once each, without libFuzzer: `make check` links
 * every tests/fuzz/fuzz_*.c with it and runs it over the target's seed
 * corpus (tests/fuzz/corpus/NAME), under ASan+UBSan in the check-san pass.
 * A target whose oracle no longer matches the code, or that crashes on a
 * seed, fails `make check` instead of waiting for the next `make fuzz`.
 *
 * Exit status: 0 when every input ran; 1 on an unreadable input (a
 * target's own failure is its abort()).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Defined by the targets that need set-up; weak, so the others link. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
run_file(const char *path, size_t *nrun)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (f == NULL) {
		perror(path);
		return 1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			if ((buf = realloc(buf, cap)) == NULL) {
				perror("realloc");
				exit(1);
			}
		}
		if ((n = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		perror(path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	/* A copy of exactly len bytes, as libFuzzer passes: ASan then sees
	 * a read past the input. */
	{
		uint8_t *in = malloc(len ? len : 1);

		if (in == NULL) {
			perror("malloc");
			exit(1);
		}
		if (len > 0)
			memcpy(in, buf, len);
		LLVMFuzzerTestOneInput(in, len);
		free(in);
	}
	free(buf);
	(*nrun)++;
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int
main(int argc, char **argv)
{
	size_t nrun = 0;
	int bad = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **ents;
		int n;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			bad = 1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i], &nrun);
			continue;
		}
		if ((n = scandir(argv[i], &ents, NULL, by_name)) < 0) {
			perror(argv[i]);
			bad = 1;
			continue;
		}
		for (int j = 0; j < n; j++) {
			char path[4096];

			snprintf(path, sizeof path, "%s/%s", argv[i],
			    ents[j]->d_name);
			if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
				bad |= run_file(path, &nrun);
			free(ents[j]);
		}
		free(ents);
	}
	printf("%s: %zu input(s)\n", argv[0], nrun);
	return bad;
}
