/*
 * standalone_main.c: runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer, so
 * the corpora run as regression tests under gcc, clang and the sanitizer builds.
 *
 *   fuzz_X_regress PATH...   each PATH a file, or a directory whose regular files are run in
 *                            name order
 * Exit status: 0 when every input ran (a failed check aborts the process), 1 when a path cannot be
 * read or no input was found at all (an empty corpus is a broken test, not a pass).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "targets/fuzz_util.h"

#define RUNNER_MAX_INPUT (16u << 20)

static int run_file(const char *path, size_t *count) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  uint8_t *buf = malloc(RUNNER_MAX_INPUT);
  if (!buf) {
    fclose(f);
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  size_t size = fread(buf, 1, RUNNER_MAX_INPUT, f);
  bool bad = ferror(f) != 0;
  fclose(f);
  if (bad) {
    free(buf);
    fprintf(stderr, "cannot read %s\n", path);
    return 1;
  }
  /* A copy of exactly the input's size, so ASan sees any read past its end. */
  uint8_t *input = malloc(size ? size : 1);
  if (!input) {
    free(buf);
    return 1;
  }
  memcpy(input, buf, size);
  free(buf);
  fprintf(stderr, "running %s (%zu bytes)\n", path, size);
  LLVMFuzzerTestOneInput(input, size);
  free(input);
  (*count)++;
  return 0;
}

static int name_order(const struct dirent **a, const struct dirent **b) {
  return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path, size_t *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "cannot stat %s\n", path);
    return 1;
  }
  if (!S_ISDIR(st.st_mode)) return run_file(path, count);
  struct dirent **entries = NULL;
  int n = scandir(path, &entries, NULL, name_order);
  if (n < 0) {
    fprintf(stderr, "cannot list %s\n", path);
    return 1;
  }
  int rc = 0;
  for (int i = 0; i < n; i++) {
    char child[4096];
    if (entries[i]->d_name[0] != '.' &&
        (size_t)snprintf(child, sizeof child, "%s/%s", path, entries[i]->d_name) < sizeof child &&
        stat(child, &st) == 0 && S_ISREG(st.st_mode))
      rc |= run_file(child, count);
    free(entries[i]);
  }
  free(entries);
  return rc;
}

int main(int argc, char **argv) {
  size_t count = 0;
  int rc = 0;
  LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; i++) rc |= run_path(argv[i], &count);
  if (count == 0) {
    fprintf(stderr, "no inputs found\n");
    return 1;
  }
  fprintf(stderr, "%zu inputs ran\n", count);
  return rc;
}
