/*
 * modcache.h: the compiled-module cache of the in-process executor (docs/service.md, "Module
 * cache").
 *
 * Keyed by the SHA-256 of the plaintext module, bounded in bytes (an upper estimate of each
 * module's memory: its bytes plus its translated code plus a fixed overhead), least recently used
 * first out. Thread-safe: one mutex guards the table, the LRU list and every reference count.
 *
 * Entries are reference-counted: a lookup or an insert hands out a reference that the caller gives
 * back with modcache_release(). Eviction removes an entry from the cache at once, but its module
 * is freed only when the last reference goes, so an execution never loses the module it is running.
 * A hvw_module is immutable once loaded and may be instantiated from several threads at once;
 * every execution makes its own store and instance, so the cache shares code, never state.
 */
#ifndef HV_EXEC_MODCACHE_H
#define HV_EXEC_MODCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wasm_engine.h"

#define MODCACHE_KEY_SIZE 32 /* SHA-256 */
#define MODCACHE_ENTRY_OVERHEAD 1024u /* bytes counted per entry beyond the module's own */

typedef struct modcache modcache;
typedef struct modcache_entry modcache_entry;

typedef struct modcache_stats {
  uint64_t entries;   /* modules in the cache now */
  uint64_t bytes;     /* their estimated size */
  uint64_t max_bytes; /* the bound */
  uint64_t hits;      /* lookups that found the module */
  uint64_t misses;    /* lookups that did not */
  uint64_t evictions; /* modules pushed out to make room */
  uint64_t in_use_evicted; /* evicted modules still held by an execution (freed when it ends) */
} modcache_stats;

/* A new, empty cache holding at most max_bytes (at least 1). NULL when memory ran out. The caller
 * frees it with modcache_free(). */
modcache *modcache_new(size_t max_bytes);
/* Frees the cache and its modules. No reference may be outstanding. NULL is a no-op. */
void modcache_free(modcache *c);

/* The entry for `key` with a new reference (and it becomes the most recently used), or NULL
 * (counted as a miss). */
modcache_entry *modcache_get(modcache *c, const uint8_t key[MODCACHE_KEY_SIZE]);

/*
 * Puts `module` (ownership passes to the cache, whatever happens) under `key` and returns a
 * referenced entry for it. If another thread inserted the same key first, `module` is freed and
 * that entry is returned. A module larger than an eighth of the bound is not kept: the returned
 * entry is private and its module is freed on release. Older entries are evicted until the cache
 * fits its bound. NULL (and `module` freed) only when memory ran out.
 */
modcache_entry *modcache_insert(modcache *c, const uint8_t key[MODCACHE_KEY_SIZE],
                                hvw_module *module);

/* The entry's module; valid until the reference is released. */
const hvw_module *modcache_module(const modcache_entry *e);

/* Gives back a reference; frees the entry if it was evicted (or never cached) and this was the
 * last one. NULL is a no-op. */
void modcache_release(modcache *c, modcache_entry *e);

/* The estimated bytes an entry for `module` counts against the bound. */
size_t modcache_cost(const hvw_module *module);

void modcache_get_stats(modcache *c, modcache_stats *out);

#endif /* HV_EXEC_MODCACHE_H */
