/*
 * audit_log.c: what the backends' transparency logs share (audit_int.h): the node cache, the
 * three readers and the mapping of hv_tlog statuses to hv_audit ones. Each backend keeps its own
 * tables, node reads and writes, and transactions.
 */
#include <string.h>

#include "audit_int.h"

static size_t cache_slot(unsigned level, uint64_t index) {
  uint64_t h = (index ^ ((uint64_t)level << 56)) * UINT64_C(0x9E3779B97F4A7C15);
  return (size_t)(h >> 54) % AUDIT_NODE_CACHE_SLOTS;
}

bool audit_node_cache_get(const audit_node_cache *cache, unsigned level, uint64_t index,
                          uint8_t out[HV_TLOG_HASH_LEN]) {
  if (cache == NULL) return false;
  const audit_node_cache_entry *e = &cache->slots[cache_slot(level, index)];
  if (!e->used || e->level != level || e->index != index) return false;
  memcpy(out, e->hash, HV_TLOG_HASH_LEN);
  return true;
}

void audit_node_cache_put(audit_node_cache *cache, unsigned level, uint64_t index,
                          const uint8_t hash[HV_TLOG_HASH_LEN]) {
  if (cache == NULL) return;
  audit_node_cache_entry *e = &cache->slots[cache_slot(level, index)];
  e->used = true;
  e->level = level;
  e->index = index;
  memcpy(e->hash, hash, HV_TLOG_HASH_LEN);
}

hv_tlog_status audit_log_read_head(hv_tlog_node_fn get, void *ctx, uint64_t size, void *arg) {
  return hv_tlog_root(get, ctx, size, arg);
}

hv_tlog_status audit_log_read_inclusion(hv_tlog_node_fn get, void *ctx, uint64_t size, void *arg) {
  audit_proof_args *p = arg;
  if (p->b > size) return HV_TLOG_INVALID_ARGUMENT;
  return hv_tlog_prove_inclusion(get, ctx, p->a, p->b, p->proof, p->count);
}

hv_tlog_status audit_log_read_consistency(hv_tlog_node_fn get, void *ctx, uint64_t size,
                                          void *arg) {
  audit_proof_args *p = arg;
  if (p->b > size) return HV_TLOG_INVALID_ARGUMENT;
  return hv_tlog_prove_consistency(get, ctx, p->a, p->b, p->proof, p->count);
}

hv_audit_status audit_log_fail(hv_audit_error *err, const char *store, hv_tlog_status ts,
                               const uint64_t *size, const char *what) {
  if (size != NULL && ts == HV_TLOG_INVALID_ARGUMENT)
    return audit_fail(err, HV_AUDIT_INVALID_ARGUMENT, "%s: beyond the tree of %llu leaves", what,
                      (unsigned long long)*size);
  return audit_fail(err, ts == HV_TLOG_NODE_MISSING ? HV_AUDIT_CORRUPT : HV_AUDIT_INTERNAL,
                    "%s: %s: %s", store, what, hv_tlog_status_text(ts));
}
