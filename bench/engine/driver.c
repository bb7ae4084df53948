/*
 * driver.c: native driver for one kernel. Usage: driver N. Prints the kernel's result on stdout
 * (as `hypervisor run` would) and the kernel's own run time on stderr as `native_s: X`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t bench_main(int32_t n);

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s N\n", argv[0]);
    return 2;
  }
  char *end;
  long n = strtol(argv[1], &end, 0);
  if (*end != '\0' || n < INT32_MIN || n > INT32_MAX) {
    fprintf(stderr, "bad N: %s\n", argv[1]);
    return 2;
  }
  double t0 = now_s();
  int64_t r = bench_main((int32_t)n);
  double t1 = now_s();
  printf("%" PRId64 "\n", r);
  fprintf(stderr, "native_s: %.6f\n", t1 - t0);
  return 0;
}
