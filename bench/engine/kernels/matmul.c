// bench: n=150 check=1
/* matmul: 200x200 double-precision matrix multiply (i-k-j order), n rounds, each feeding the
 * product back as input. Floating point over 960 KB of arrays. */
#include "common.h"

#define DIM 200

static double ma[DIM][DIM], mb[DIM][DIM], mc[DIM][DIM];

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint32_t seed = 7;
  for (int i = 0; i < DIM; i++)
    for (int j = 0; j < DIM; j++) {
      ma[i][j] = (double)(bench_lcg(&seed) >> 16) / 65536.0 - 0.5;
      mb[i][j] = (double)(bench_lcg(&seed) >> 16) / 65536.0 - 0.5;
    }
  uint64_t sum = 0;
  for (int32_t r = 0; r < n; r++) {
    for (int i = 0; i < DIM; i++) {
      for (int j = 0; j < DIM; j++) mc[i][j] = 0;
      for (int k = 0; k < DIM; k++) {
        double aik = ma[i][k];
        for (int j = 0; j < DIM; j++) mc[i][j] += aik * mb[k][j];
      }
    }
    // Rescale into A so values stay bounded across rounds.
    double trace = 0;
    for (int i = 0; i < DIM; i++) trace += bench_fabs(mc[i][i]);
    double scale = 1.0 / (trace + 1.0);
    for (int i = 0; i < DIM; i++)
      for (int j = 0; j < DIM; j++) ma[i][j] = mc[i][j] * scale;
    sum = bench_mix64(sum ^ bench_f64_bits(trace));
  }
  return (int64_t)sum;
}
