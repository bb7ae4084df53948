// bench: n=1000 check=80
/* mandelbrot: n x n points of the Mandelbrot set, up to 200 iterations each. Double-precision
 * arithmetic with a data-dependent loop exit. */
#include "common.h"

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint64_t sum = 0, inside = 0;
  for (int32_t py = 0; py < n; py++) {
    double ci = 2.0 * py / n - 1.0;
    for (int32_t px = 0; px < n; px++) {
      double cr = 2.5 * px / n - 2.0;
      double zr = 0, zi = 0, tr = 0, ti = 0;
      int32_t it = 0;
      while (it < 200 && tr + ti <= 4.0) {
        zi = 2.0 * zr * zi + ci;
        zr = tr - ti + cr;
        tr = zr * zr;
        ti = zi * zi;
        it++;
      }
      if (it == 200) inside++;
      sum = sum * 31u + (uint64_t)it + (bench_f64_bits(zr) >> 40);
    }
  }
  return (int64_t)(sum ^ (inside << 48));
}
