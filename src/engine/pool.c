/*
 * pool.c: the pooling allocator (wasm_engine.h, "Pools"). Linear-memory slots and interpreter
 * stacks are reserved once, handed to one store after another and reset between them without
 * munmap: zero what was used (memset keeps the pages present, which matters on the virtual
 * machines this runs on, where the first write to a fresh page costs ~15 us; madvise beyond
 * keep_resident_bytes), then mprotect a memory slot back to what its next user needs.
 *
 * Everything is single-threaded by contract: the pool belongs to one thread at a time.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "limits.h"
#include "runtime_int.h"

#define POOL_MAX_BLOCKS 1024u
#define POOL_MAX_STACK_CELLS (1u << 28)
#define POOL_MAX_STACK_FRAMES (1u << 24)

struct hvw_pool {
  hvw_pool_config config;
  size_t page;                 /* the system's page size */
  size_t slot_bytes;           /* slot_pages * HVW_PAGE_SIZE */
  size_t stack_frames_offset;  /* where a stack's frames start: after its cells, page-aligned */
  size_t stack_bytes;
  hvw__pool_block *free_slots;
  hvw__pool_block *free_stacks;
  uint32_t in_use;             /* blocks taken and not given back */
  hvw_pool_stats stats;
};

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

void hvw_pool_config_default(hvw_pool_config *out) {
  if (!out) return;
  hvw_store_limits l;
  hvw_store_limits_default(&l);
  out->max_memory_slots = 4;
  out->slot_pages = l.max_memory_pages;
  out->max_stacks = 2;
  out->stack_cells = l.max_stack_cells;
  out->stack_frames = l.max_call_depth;
  out->keep_resident_bytes = (size_t)1 << 20;
}

hvw_pool *hvw_pool_new(const hvw_pool_config *config, hvw_error *err) {
  hvw__error_clear(err);
  hvw_pool_config c;
  if (config) c = *config;
  else hvw_pool_config_default(&c);
  if (c.slot_pages > HVW_MAX_MEMORY_PAGES || c.max_memory_slots > POOL_MAX_BLOCKS ||
      c.max_stacks > POOL_MAX_BLOCKS || c.stack_cells > POOL_MAX_STACK_CELLS ||
      c.stack_frames > POOL_MAX_STACK_FRAMES) {
    hvw__fail(err, HVW_BAD_ARGUMENTS,
              "bad pool configuration (slot_pages %u of at most %u, %u memory slots and %u stacks of "
              "at most %u, %u stack cells of at most %u, %u frames of at most %u)",
              c.slot_pages, HVW_MAX_MEMORY_PAGES, c.max_memory_slots, c.max_stacks, POOL_MAX_BLOCKS,
              c.stack_cells, POOL_MAX_STACK_CELLS, c.stack_frames, POOL_MAX_STACK_FRAMES);
    return NULL;
  }
  hvw_pool *pool = calloc(1, sizeof *pool);
  if (!pool) {
    hvw__fail(err, HVW_OUT_OF_HOST_MEMORY, "out of host memory");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  pool->page = page > 0 ? (size_t)page : 4096;
  pool->config = c;
  pool->slot_bytes = (size_t)c.slot_pages * HVW_PAGE_SIZE;
  pool->stack_frames_offset = round_up((size_t)(c.stack_cells ? c.stack_cells : 1) * sizeof(hvw_cell), pool->page);
  pool->stack_bytes =
      pool->stack_frames_offset + round_up((size_t)(c.stack_frames ? c.stack_frames : 1) * sizeof(hvw__frame_rec), pool->page);
  return pool;
}

static void block_unmap(hvw__pool_block *b) {
  munmap(b->base, b->bytes);
  free(b);
}

void hvw_pool_free(hvw_pool *pool) {
  if (!pool) return;
  /* A store still holds a block: keep the pool so that its release stays safe (a leak, not a
   * use after free). */
  if (HVW__NEVER(pool->in_use != 0)) return;
  for (hvw__pool_block *b = pool->free_slots, *next; b; b = next) {
    next = b->next;
    block_unmap(b);
  }
  for (hvw__pool_block *b = pool->free_stacks, *next; b; b = next) {
    next = b->next;
    block_unmap(b);
  }
  free(pool);
}

void hvw_pool_get_stats(const hvw_pool *pool, hvw_pool_stats *out) {
  if (!out) return;
  memset(out, 0, sizeof *out);
  if (pool) *out = pool->stats;
}

/*
 * Makes the first `used` bytes at `p` (page-aligned) read as zero: memset up to the pool's
 * keep_resident_bytes, madvise(MADV_DONTNEED) for the rest (private anonymous pages then read as
 * zero). False when madvise failed: the caller must not reuse the block.
 */
static bool zero_used(hvw_pool *pool, uint8_t *p, size_t used) {
  size_t keep = pool->config.keep_resident_bytes / pool->page * pool->page;
  if (used <= keep) {
    memset(p, 0, used);
    return true;
  }
  memset(p, 0, keep);
  pool->stats.resets_madvised++;
  return madvise(p + keep, round_up(used, pool->page) - keep, MADV_DONTNEED) == 0;
}

/* Drops a block that cannot be reset: unmapped and no longer counted. */
static void block_drop(hvw__pool_block *b, uint32_t *count) {
  (*count)--;
  block_unmap(b);
}

/* ---- Memory slots ---------------------------------------------------------------------------- */

hvw__pool_block *hvw__pool_memory_take(hvw_pool *pool, size_t reserve, size_t initial) {
  if (!pool) return NULL;
  if (reserve > pool->slot_bytes || initial > reserve) {
    pool->stats.memory_fallbacks++;
    return NULL;
  }
  hvw__pool_block *b = pool->free_slots;
  if (b) {
    pool->free_slots = b->next;
    pool->stats.memory_reuses++;
  } else {
    if (pool->stats.memory_slots >= pool->config.max_memory_slots) {
      pool->stats.memory_fallbacks++;
      return NULL;
    }
    b = calloc(1, sizeof *b);
    void *p = b ? mmap(NULL, pool->slot_bytes ? pool->slot_bytes : pool->page, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                : MAP_FAILED;
    if (p == MAP_FAILED) {
      free(b);
      pool->stats.memory_fallbacks++;
      return NULL;
    }
    b->pool = pool;
    b->base = p;
    b->bytes = pool->slot_bytes ? pool->slot_bytes : pool->page;
    pool->stats.memory_slots++;
    pool->stats.memory_fresh++;
  }
  /* The slot is all zero; make exactly `initial` bytes accessible (no system call when the last
   * memory ended at this size: the common case of one module run again and again). */
  int rc = 0;
  if (b->accessible < initial)
    rc = mprotect(b->base + b->accessible, initial - b->accessible, PROT_READ | PROT_WRITE);
  else if (b->accessible > initial)
    rc = mprotect(b->base + initial, b->accessible - initial, PROT_NONE);
  if (rc != 0) {
    block_drop(b, &pool->stats.memory_slots);
    pool->stats.memory_fallbacks++;
    return NULL;
  }
  b->accessible = initial;
  b->next = NULL;
  pool->in_use++;
  return b;
}

void hvw__pool_memory_give(hvw__pool_block *b, size_t used) {
  hvw_pool *pool = b->pool;
  pool->in_use--;
  /* used <= accessible: the memory grew only by mprotect-ing more of the slot. */
  if (HVW__NEVER(used > b->accessible) || !zero_used(pool, b->base, used)) {
    block_drop(b, &pool->stats.memory_slots);
    return;
  }
  b->next = pool->free_slots;
  pool->free_slots = b;
}

/* ---- Stacks ---------------------------------------------------------------------------------- */

hvw__pool_block *hvw__pool_stack_take(hvw_pool *pool, size_t ncells, uint32_t nframes) {
  if (!pool) return NULL;
  if (ncells > pool->config.stack_cells || nframes > pool->config.stack_frames) {
    pool->stats.stack_fallbacks++;
    return NULL;
  }
  hvw__pool_block *b = pool->free_stacks;
  if (b) {
    pool->free_stacks = b->next;
    pool->stats.stack_reuses++;
  } else {
    if (pool->stats.stacks >= pool->config.max_stacks) {
      pool->stats.stack_fallbacks++;
      return NULL;
    }
    b = calloc(1, sizeof *b);
    void *p = b ? mmap(NULL, pool->stack_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                : MAP_FAILED;
    if (p == MAP_FAILED) {
      free(b);
      pool->stats.stack_fallbacks++;
      return NULL;
    }
    b->pool = pool;
    b->base = p;
    b->bytes = b->accessible = pool->stack_bytes;
    b->cells = p;
    b->frames = (hvw__frame_rec *)(b->base + pool->stack_frames_offset);
    pool->stats.stacks++;
    pool->stats.stack_fresh++;
  }
  b->next = NULL;
  pool->in_use++;
  return b;
}

void hvw__pool_stack_give(hvw__pool_block *b, size_t cells_used, uint32_t frames_used) {
  hvw_pool *pool = b->pool;
  pool->in_use--;
  if (HVW__NEVER(cells_used > pool->config.stack_cells || frames_used > pool->config.stack_frames) ||
      !zero_used(pool, (uint8_t *)b->cells, cells_used * sizeof(hvw_cell)) ||
      !zero_used(pool, (uint8_t *)b->frames, (size_t)frames_used * sizeof(hvw__frame_rec))) {
    block_drop(b, &pool->stats.stacks);
    return;
  }
  b->next = pool->free_stacks;
  pool->free_stacks = b;
}
