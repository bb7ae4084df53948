// bench: n=40 check=25
/* fib: naive doubly-recursive Fibonacci. Call-heavy: millions of tiny direct calls. */
#include "common.h"

static BENCH_NOINLINE int64_t fib(int32_t k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }

BENCH_EXPORT int64_t bench_main(int32_t n) { return fib(n); }
