/*
 * cabi_guest.h: the guest's half of the Canonical ABI for core modules (docs/protocol.md, "Strings
 * and bytes"), shared by the example programs in this folder. Freestanding C for wasm32, no libc.
 *
 * Include it in exactly one source file per module: besides inline helpers it defines the
 * exported `cabi_realloc` and the `memcpy`/`memset` that clang may call for copies and fills.
 *
 * Memory: a bump arena from __heap_base (the end of the data and, with --stack-first, of the
 * stack) upwards. cabi_realloc hands out blocks with the alignment asked for, growing the linear
 * memory with memory.grow as needed, and traps (unreachable) when it cannot: a host that asks for
 * more than the guest can have gets EXECUTION_TRAP, never a null pointer it might write through.
 * Nothing is freed one by one; cabi_arena_reset() frees everything at once, which each module
 * does in its cabi_post_<name> (after the host copied the result out) or at the end of a call
 * whose arguments it no longer needs.
 *
 * Results: a string or bytes result is returned as a retptr to a 4-byte-aligned static pair
 * {u32 ptr, u32 len} (cabi_pair, cabi_return).
 */
#ifndef CABI_GUEST_H
#define CABI_GUEST_H

#include <stddef.h>
#include <stdint.h>

#if !defined(__wasm32__)
#error "cabi_guest.h is for wasm32 guests (clang --target=wasm32)"
#endif

/* Exports a function under `name`; clang's wasm attribute, no --export flag needed. */
#define CABI_EXPORT(name) __attribute__((export_name(name)))

/* Stops the program: the host sees a trap (the service answers EXECUTION_TRAP). */
#define cabi_trap() __builtin_trap()

/* ---- The arena ------------------------------------------------------------------------- */

extern unsigned char __heap_base; /* defined by wasm-ld: the first byte nothing else uses */

static uint32_t cabi_arena_top;  /* next free byte; 0 until the first allocation */
static uint32_t cabi_arena_last; /* start of the most recent block, which may grow in place */

static inline uint32_t cabi_heap_base(void) { return (uint32_t)(uintptr_t)&__heap_base; }

/* Frees every block: the next allocation starts at __heap_base again. */
static inline void cabi_arena_reset(void) {
  cabi_arena_top = cabi_heap_base();
  cabi_arena_last = 0;
}

/* Makes sure [0, end) is inside the linear memory, growing it; traps when it cannot. */
static inline void cabi_memory_reserve(uint64_t end) {
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) * 65536u;
  if (end <= have) return;
  if (end > 0x100000000ull) cabi_trap();
  uint64_t pages = (end - have + 65535u) / 65536u;
  if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1) cabi_trap();
}

/* A new block of `size` bytes aligned to `align` (a power of two), or a trap. */
static inline void *cabi_alloc(uint32_t align, uint32_t size) {
  if (align == 0 || (align & (align - 1)) != 0) cabi_trap();
  if (cabi_arena_top == 0) cabi_arena_reset();
  uint64_t start = ((uint64_t)cabi_arena_top + align - 1) & ~(uint64_t)(align - 1);
  uint64_t end = start + size;
  cabi_memory_reserve(end);
  cabi_arena_top = (uint32_t)end;
  cabi_arena_last = (uint32_t)start;
  return (void *)(uintptr_t)start;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memset(void *dst, int c, size_t n);

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  unsigned char *d = dst;
  const unsigned char *s = src;
  for (; n >= 4; n -= 4, d += 4, s += 4) {
    uint32_t w;
    __builtin_memcpy(&w, s, 4); /* an unaligned i32 load: wasm allows it */
    __builtin_memcpy(d, &w, 4);
  }
  while (n--) *d++ = *s++;
  return dst;
}

void *memset(void *dst, int c, size_t n) {
  unsigned char *d = dst;
  while (n--) *d++ = (unsigned char)c;
  return dst;
}

/*
 * The Canonical ABI's allocator: (old_ptr, old_size, align, new_size) -> ptr.
 *   old_ptr 0          a new block (the host calls cabi_realloc(0, 0, 1, len) per argument);
 *   new_size <= old    the same block;
 *   the newest block   grown in place;
 *   any other block    a new block with the old bytes copied.
 * new_size 0 gives an aligned pointer to no bytes. Traps on a bad alignment or no memory.
 */
void *cabi_realloc(void *old_ptr, uint32_t old_size, uint32_t align, uint32_t new_size);

CABI_EXPORT("cabi_realloc")
void *cabi_realloc(void *old_ptr, uint32_t old_size, uint32_t align, uint32_t new_size) {
  uint32_t old = (uint32_t)(uintptr_t)old_ptr;
  if (align == 0 || (align & (align - 1)) != 0) cabi_trap();
  if (old == 0) return cabi_alloc(align, new_size);
  if ((old & (align - 1)) != 0) cabi_trap();
  if (new_size <= old_size) return old_ptr;
  if (old == cabi_arena_last && (uint64_t)old + old_size == cabi_arena_top) {
    uint64_t end = (uint64_t)old + new_size;
    cabi_memory_reserve(end);
    cabi_arena_top = (uint32_t)end;
    return old_ptr;
  }
  void *fresh = cabi_alloc(align, new_size);
  memcpy(fresh, old_ptr, old_size);
  return fresh;
}

/* ---- Results ---------------------------------------------------------------------------- */

/* Where a string or bytes result is: the retptr points at one of these. */
typedef struct cabi_pair {
  uint32_t ptr;
  uint32_t len;
} cabi_pair;

_Static_assert(sizeof(cabi_pair) == 8 && _Alignof(cabi_pair) == 4, "the ABI's {u32, u32}");

/* Fills *slot with (data, len) and returns its address as the export's i32 result. */
static inline int32_t cabi_return(cabi_pair *slot, const void *data, uint32_t len) {
  slot->ptr = (uint32_t)(uintptr_t)data;
  slot->len = len;
  return (int32_t)(uintptr_t)slot;
}

#endif /* CABI_GUEST_H */
