/*
 * wasm_gen.h: turns arbitrary bytes into a VALID WebAssembly 2.0 module (SIMD included; no
 * imports).
 *
 * The generator reads its choices from the bytes (0 when they run out, and 0 always picks the
 * simplest option, so every input ends) and builds well-typed code by construction: types,
 * functions with multi-value signatures, locals, block/loop/if with type indices and params,
 * br/br_if/br_table/return, call and call_indirect (several tables), all i32/i64/f32/f64
 * arithmetic, comparisons and conversions (trapping and saturating), loads and stores of every
 * width, memory.size/grow/fill/copy/init, data.drop, globals, table.get/set/size/grow/fill/copy/
 * init, elem.drop, ref.null/is_null/func, select (plain and typed), unreachable, and active,
 * passive and declarative segments. v128 goes wherever a value type goes (params, results, block
 * types, locals, globals, select), with every SIMD instruction: v128.const, all the loads (extend,
 * splat, zero, lane) and stores (whole, lane), shuffle, swizzle, splat, extract/replace_lane,
 * bitselect and every integer and float lane operation.
 *
 * Two modes:
 *   exec (deterministic = false): everything above, including loops that branch back without a
 *     counter and unbounded recursion, so an execution may only end by gas or call depth. Internal
 *     functions are exported as "f0", "f1", ... with their own signatures, plus "mem", "tab0", "g0".
 *   differential (deterministic = true): every execution ends and its result does not depend on
 *     what the spec leaves open, so two engines must agree:
 *       - loops branch back only through a counter local (at most 4 iterations each);
 *       - every internal function spends one unit of a fuel global (global 0) and traps with
 *         `unreachable` when it is out, which bounds calls and recursion;
 *       - NaNs are canonicalised wherever their bits could become visible (reinterpret, float
 *         stores, copysign's sign operand, results; a float put into a v128 by splat or
 *         replace_lane; and the lanes of every SIMD float operation that may make a NaN, right
 *         after it, since any integer lane operation sees a v128's bits), as the spec lets their
 *         sign and payload vary;
 *       - memories and tables always declare a small maximum (memory <= 4 pages).
 *     The exports are "e0", "e1", ...: wrappers with no params that set the fuel, call one internal
 *     function with constant arguments and return its results as integers (floats reinterpreted,
 *     a v128 as its two i64 lanes),
 *     then "state": an i64 hash of the globals, the memory and the tables' null-ness. So
 *     `wasm-interp --run-all-exports` can run them all and print exact values.
 *
 * No global state; thread-safe.
 */
#ifndef WASM_GEN_H
#define WASM_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wgen_config {
  bool deterministic; /* the differential mode above */
} wgen_config;

/*
 * Builds a module from data[0 .. size). On success returns true and *out (caller frees with
 * free()) holds *out_size bytes. Returns false only when memory runs out. The same bytes and
 * config always give the same module.
 */
bool wgen_generate(const uint8_t *data, size_t size, const wgen_config *config, uint8_t **out,
                   size_t *out_size);

/* Fills out[0 .. size) with a pseudo-random byte stream (splitmix64) from seed, for driving the
 * generator from a seed number. */
void wgen_seed_bytes(uint64_t seed, uint8_t *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* WASM_GEN_H */
