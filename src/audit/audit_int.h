/*
 * audit_int.h: what the audit front end (audit.c) and its backends share, and what the backends'
 * transparency logs share (audit_log.c): the node cache, the readers and the error mapping.
 */
#ifndef HV_AUDIT_INT_H
#define HV_AUDIT_INT_H

#include "hv_audit.h"

/* Fills err (may be NULL) with status and a formatted message; returns status. */
hv_audit_status audit_fail(hv_audit_error *err, hv_audit_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to HV_AUDIT_OK; returns HV_AUDIT_OK. */
hv_audit_status audit_ok(hv_audit_error *err);

#define AUDIT_MAX_CONNECTIONS 64u
#define AUDIT_DEFAULT_CONNECTIONS 4u
#define AUDIT_DEFAULT_BUSY_TIMEOUT_MS 5000u
#define AUDIT_DEFAULT_PURGE_BATCH 1000u

/* ---- The transparency log, for the backends (audit_log.c) ---------------------------------- */

/* Nodes read or written during one call: most proofs of a round share their upper nodes, so a
 * small direct-mapped cache saves most lookups. Nodes never change once written, so a cached one
 * is always right. A cache belongs to one call (its caller allocates it with calloc and frees it);
 * an entry may be evicted by another, so a miss means "ask the store", never "absent". */
#define AUDIT_NODE_CACHE_SLOTS 1024u
typedef struct audit_node_cache_entry {
  bool used;
  unsigned level;
  uint64_t index;
  uint8_t hash[HV_TLOG_HASH_LEN];
} audit_node_cache_entry;
typedef struct audit_node_cache {
  audit_node_cache_entry slots[AUDIT_NODE_CACHE_SLOTS];
} audit_node_cache;

/* Copies node (level, index) into out when cache (may be NULL) holds it. */
bool audit_node_cache_get(const audit_node_cache *cache, unsigned level, uint64_t index,
                          uint8_t out[HV_TLOG_HASH_LEN]);
/* Keeps node (level, index) in cache (NULL: no-op), evicting what shared its slot. */
void audit_node_cache_put(audit_node_cache *cache, unsigned level, uint64_t index,
                          const uint8_t hash[HV_TLOG_HASH_LEN]);

/* A reader of the tree of `size` leaves (the size read once, at the start of the call), through
 * the backend's node reader. */
typedef hv_tlog_status (*audit_log_reader)(hv_tlog_node_fn get, void *ctx, uint64_t size,
                                           void *arg);

/* The three readers: audit_log_read_head's arg is the root (HV_TLOG_HASH_LEN bytes); the proofs'
 * is an audit_proof_args. A size beyond the tree is HV_TLOG_INVALID_ARGUMENT. */
typedef struct audit_proof_args {
  uint64_t a, b; /* (index, size) or (old_size, new_size) */
  uint8_t (*proof)[HV_TLOG_HASH_LEN];
  size_t *count;
} audit_proof_args;
hv_tlog_status audit_log_read_head(hv_tlog_node_fn get, void *ctx, uint64_t size, void *arg);
hv_tlog_status audit_log_read_inclusion(hv_tlog_node_fn get, void *ctx, uint64_t size, void *arg);
hv_tlog_status audit_log_read_consistency(hv_tlog_node_fn get, void *ctx, uint64_t size,
                                          void *arg);

/* The status of a tree operation that returned ts (not OK) while the database itself answered:
 * for a reader (size non-NULL: the tree's size) INVALID_ARGUMENT is "WHAT: beyond the tree of N
 * leaves"; NODE_MISSING is CORRUPT (the tables were edited: never a wrong proof); anything else
 * INTERNAL. `store` names the store in the message ("audit store PATH"). */
hv_audit_status audit_log_fail(hv_audit_error *err, const char *store, hv_tlog_status ts,
                               const uint64_t *size, const char *what);

#endif /* HV_AUDIT_INT_H */
