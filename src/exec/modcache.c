/*
 * modcache.c: see modcache.h. A chained hash table (the keys are SHA-256 digests, so their first
 * bytes are already uniform) plus a doubly linked LRU list, under one mutex.
 */
#include "modcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct modcache_entry {
  uint8_t key[MODCACHE_KEY_SIZE];
  hvw_module *module;
  size_t cost;
  uint32_t refs;   /* outstanding references, plus one while cached */
  bool cached;     /* in the table and the LRU list */
  bool evicted;    /* pushed out while an execution held it */
  modcache_entry *chain;        /* next in the same bucket */
  modcache_entry *newer, *older; /* LRU list */
};

struct modcache {
  pthread_mutex_t mu;
  modcache_entry **buckets;
  size_t nbuckets; /* a power of two */
  modcache_entry *newest, *oldest;
  size_t max_bytes;
  modcache_stats stats;
};

#define MODCACHE_MIN_BUCKETS 256u

static size_t modcache_bucket(const modcache *c, const uint8_t key[MODCACHE_KEY_SIZE]) {
  uint64_t h;
  memcpy(&h, key, sizeof h);
  return (size_t)(h & (c->nbuckets - 1));
}

modcache *modcache_new(size_t max_bytes) {
  modcache *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->nbuckets = MODCACHE_MIN_BUCKETS;
  c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
  if (!c->buckets) {
    free(c);
    return NULL;
  }
  pthread_mutex_init(&c->mu, NULL);
  c->max_bytes = max_bytes ? max_bytes : 1;
  c->stats.max_bytes = c->max_bytes;
  return c;
}

static void modcache_entry_free(modcache_entry *e) {
  hvw_module_free(e->module);
  free(e);
}

void modcache_free(modcache *c) {
  if (!c) return;
  for (modcache_entry *e = c->newest, *next; e; e = next) {
    next = e->older;
    modcache_entry_free(e);
  }
  free(c->buckets);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

size_t modcache_cost(const hvw_module *module) {
  hvw_module_stats s;
  hvw_module_get_stats(module, &s);
  return s.hvw_bytes + s.code_bytes + MODCACHE_ENTRY_OVERHEAD;
}

const hvw_module *modcache_module(const modcache_entry *e) { return e->module; }

/* ---- Under the mutex ---------------------------------------------------------------------- */

static modcache_entry *modcache_find(modcache *c, const uint8_t key[MODCACHE_KEY_SIZE]) {
  for (modcache_entry *e = c->buckets[modcache_bucket(c, key)]; e; e = e->chain)
    if (memcmp(e->key, key, MODCACHE_KEY_SIZE) == 0) return e;
  return NULL;
}

static void modcache_lru_unlink(modcache *c, modcache_entry *e) {
  if (e->newer) e->newer->older = e->older;
  else c->newest = e->older;
  if (e->older) e->older->newer = e->newer;
  else c->oldest = e->newer;
  e->newer = e->older = NULL;
}

static void modcache_lru_push(modcache *c, modcache_entry *e) {
  e->newer = NULL;
  e->older = c->newest;
  if (c->newest) c->newest->newer = e;
  c->newest = e;
  if (!c->oldest) c->oldest = e;
}

/* Takes `e` out of the table and the list; true when nothing holds it any more (free it). */
static bool modcache_remove(modcache *c, modcache_entry *e) {
  modcache_entry **p = &c->buckets[modcache_bucket(c, e->key)];
  while (*p != e) p = &(*p)->chain;
  *p = e->chain;
  e->chain = NULL;
  modcache_lru_unlink(c, e);
  e->cached = false;
  c->stats.entries--;
  c->stats.bytes -= e->cost;
  return --e->refs == 0;
}

/* Doubles the table when it holds more entries than buckets (allocation failure: stays as is). */
static void modcache_grow(modcache *c) {
  if (c->stats.entries <= c->nbuckets || c->nbuckets > SIZE_MAX / 4 / sizeof *c->buckets) return;
  size_t n = c->nbuckets * 2;
  modcache_entry **b = calloc(n, sizeof *b);
  if (!b) return;
  for (size_t k = 0; k < c->nbuckets; k++) {
    for (modcache_entry *e = c->buckets[k], *next; e; e = next) {
      next = e->chain;
      uint64_t h;
      memcpy(&h, e->key, sizeof h);
      size_t i = (size_t)(h & (n - 1));
      e->chain = b[i];
      b[i] = e;
    }
  }
  free(c->buckets);
  c->buckets = b;
  c->nbuckets = n;
}

/* ---- The interface ------------------------------------------------------------------------ */

modcache_entry *modcache_get(modcache *c, const uint8_t key[MODCACHE_KEY_SIZE]) {
  pthread_mutex_lock(&c->mu);
  modcache_entry *e = modcache_find(c, key);
  if (e) {
    e->refs++;
    modcache_lru_unlink(c, e);
    modcache_lru_push(c, e);
    c->stats.hits++;
  } else {
    c->stats.misses++;
  }
  pthread_mutex_unlock(&c->mu);
  return e;
}

modcache_entry *modcache_insert(modcache *c, const uint8_t key[MODCACHE_KEY_SIZE],
                                hvw_module *module) {
  modcache_entry *e = calloc(1, sizeof *e);
  if (!e) {
    hvw_module_free(module);
    return NULL;
  }
  memcpy(e->key, key, MODCACHE_KEY_SIZE);
  e->module = module;
  e->cost = modcache_cost(module);
  e->refs = 1;
  if (e->cost > c->max_bytes / 8) return e; /* too big to keep: private to this execution */

  modcache_entry *victims = NULL; /* freed after the mutex is released */
  pthread_mutex_lock(&c->mu);
  modcache_entry *other = modcache_find(c, key);
  if (other) {
    /* Another execution compiled the same module first: share its copy. */
    other->refs++;
    modcache_lru_unlink(c, other);
    modcache_lru_push(c, other);
    pthread_mutex_unlock(&c->mu);
    modcache_entry_free(e);
    return other;
  }
  while (c->oldest && c->stats.bytes + e->cost > c->max_bytes) {
    modcache_entry *old = c->oldest;
    c->stats.evictions++;
    if (modcache_remove(c, old)) {
      old->chain = victims;
      victims = old;
    } else {
      old->evicted = true;
      c->stats.in_use_evicted++;
    }
  }
  size_t b = modcache_bucket(c, key);
  e->chain = c->buckets[b];
  c->buckets[b] = e;
  modcache_lru_push(c, e);
  e->cached = true;
  e->refs++; /* the cache's own */
  c->stats.entries++;
  c->stats.bytes += e->cost;
  modcache_grow(c);
  pthread_mutex_unlock(&c->mu);
  while (victims) {
    modcache_entry *next = victims->chain;
    modcache_entry_free(victims);
    victims = next;
  }
  return e;
}

void modcache_release(modcache *c, modcache_entry *e) {
  if (!e) return;
  pthread_mutex_lock(&c->mu);
  bool last = --e->refs == 0;
  if (last && e->evicted) c->stats.in_use_evicted--;
  pthread_mutex_unlock(&c->mu);
  if (last) modcache_entry_free(e);
}

void modcache_get_stats(modcache *c, modcache_stats *out) {
  pthread_mutex_lock(&c->mu);
  *out = c->stats;
  pthread_mutex_unlock(&c->mu);
}
