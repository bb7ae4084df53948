/*
 * sortlines.c: a WASI command in plain C (wasi-libc) that uses what ordinary programs use: it
 * reads stdin into malloc'd lines, sorts them with qsort (-r: in reverse), prints them numbered
 * with printf, then a summary with a float; and checks rand(), time() and clock_gettime() the way a
 * program relies on them. Everything it prints is deterministic (no random number or time is
 * printed), so the same source built natively with the host's cc prints the same bytes: the
 * tests compare the two.
 *
 * Exit code: 0; 1 when memory runs out; 2 for an unknown option.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, also in a strict C17 native build */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp_lines(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_ints(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

/* Reads all of stdin; the caller frees. NULL when memory runs out. */
static char *read_all(size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  if (!buf) return NULL;
  while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
    n += got;
    if (cap - n - 1 == 0) {
      char *bigger = realloc(buf, cap * 2);
      if (!bigger) {
        free(buf);
        return NULL;
      }
      buf = bigger;
      cap *= 2;
    }
  }
  buf[n] = '\0';
  *len = n;
  return buf;
}

int main(int argc, char **argv) {
  int reverse = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-r") == 0) {
      reverse = 1;
    } else {
      fprintf(stderr, "%s: unknown option '%s'\n", argv[0], argv[i]);
      return 2;
    }
  }

  size_t len = 0;
  char *text = read_all(&len);
  if (!text) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  size_t count = 0, cap = 16;
  char **lines = malloc(cap * sizeof *lines);
  if (!lines) return 1;
  for (char *p = text; *p;) {
    char *end = strchr(p, '\n');
    if (end) *end = '\0';
    if (count == cap) {
      char **bigger = realloc(lines, 2 * cap * sizeof *lines);
      if (!bigger) return 1;
      lines = bigger;
      cap *= 2;
    }
    lines[count++] = p;
    if (!end) break;
    p = end + 1;
  }
  qsort(lines, count, sizeof *lines, cmp_lines);
  for (size_t i = 0; i < count; i++)
    printf("%4zu  %s\n", i + 1, lines[reverse ? count - 1 - i : i]);
  printf("lines: %zu, bytes: %zu, mean length: %.2f\n", count, len,
         count ? (double)(len - count) / (double)count : 0.0);

  /* rand(): 1000 values, sorted by qsort; what is printed does not depend on them. */
  srand((unsigned)time(NULL));
  int *values = malloc(1000 * sizeof *values);
  if (!values) return 1;
  for (int i = 0; i < 1000; i++) values[i] = rand();
  qsort(values, 1000, sizeof *values, cmp_ints);
  int in_order = 1;
  for (int i = 1; i < 1000; i++) in_order &= values[i - 1] <= values[i];
  printf("rand: 1000 values sorted %s\n", in_order ? "in order" : "OUT OF ORDER");

  /* time(): a real date; clock_gettime(CLOCK_MONOTONIC) never goes back. */
  time_t now = time(NULL);
  printf("time: %s\n", now > (time_t)1577836800 ? "after 2020-01-01" : "before 2020-01-01");
  struct timespec a, b;
  int ok = clock_gettime(CLOCK_MONOTONIC, &a) == 0 && clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
           (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
  printf("monotonic clock: %s\n", ok ? "ok" : "WENT BACK");

  free(values);
  free(lines);
  free(text);
  return 0;
}
