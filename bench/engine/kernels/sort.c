// bench: n=14 check=1
/* sort: quicksort (median of three, insertion sort below 16) of 256 Ki pseudo-random 32-bit
 * integers, n rounds. Memory-heavy and branchy: unpredictable compares and swaps over 1 MiB. */
#include "common.h"

#define SORT_LEN (256u * 1024u)

static int32_t arr[SORT_LEN];

static void insertion(int32_t *a, int32_t lo, int32_t hi) {
  for (int32_t i = lo + 1; i <= hi; i++) {
    int32_t v = a[i], j = i - 1;
    while (j >= lo && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

static inline void swap(int32_t *a, int32_t i, int32_t j) {
  int32_t t = a[i];
  a[i] = a[j];
  a[j] = t;
}

static void quicksort(int32_t *a, int32_t lo, int32_t hi) {
  while (hi - lo >= 16) {
    int32_t mid = lo + (hi - lo) / 2;
    if (a[mid] < a[lo]) swap(a, mid, lo);
    if (a[hi] < a[lo]) swap(a, hi, lo);
    if (a[hi] < a[mid]) swap(a, hi, mid);
    int32_t pivot = a[mid], i = lo, j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        swap(a, i, j);
        i++;
        j--;
      }
    }
    // Recurse into the smaller half so the depth stays logarithmic.
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
  insertion(a, lo, hi);
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 99;
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    for (uint32_t i = 0; i < SORT_LEN; i++) arr[i] = (int32_t)bench_lcg(&seed);
    quicksort(arr, 0, SORT_LEN - 1);
    for (uint32_t i = 1; i < SORT_LEN; i++)
      if (arr[i - 1] > arr[i]) return -1;  // not sorted: a wrong result, never a valid checksum
    for (uint32_t i = 0; i < SORT_LEN; i += 4099) sum = bench_mix64(sum + (uint32_t)arr[i]);
  }
  return (int64_t)sum;
}
