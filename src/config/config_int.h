/*
 * config_int.h: internals of hv_config shared by its two passes.
 *
 * Pass 1 (yaml_index.c) walks the document's libyaml events once and records, for every key and
 * sequence entry, its path ("auth.api_keys[0].sha256"), its position and the shape of its value.
 * It also refuses what neither pass should see (syntax errors with libyaml's exact position,
 * duplicate keys, aliases, anchors, tags, several documents, NUL bytes in strings, deep nesting).
 * Pass 2 (config.c) loads the document with libcyaml against the schema and converts the values;
 * its errors, and those of the semantic checks, take their line and column from this index,
 * because libcyaml points at the previous value for an unknown key and has no position at all
 * for checks made after loading.
 */
#ifndef HV_CONFIG_INT_H
#define HV_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_config.h"

#define CFG_MAX_DEPTH 8      /* the deepest valid key is 4 levels down (auth.api_keys[i].id) */
#define CFG_MAX_ENTRIES 8192 /* keys plus sequence entries: 3 per API key, ~30 others */
#define CFG_KEY_NAME_MAX 64  /* longer key names are refused (no valid key is near this) */

typedef enum cfg_node_kind {
  CFG_NODE_SCALAR,
  CFG_NODE_MAPPING,
  CFG_NODE_SEQUENCE,
} cfg_node_kind;

typedef struct cfg_pos {
  char path[HV_CONFIG_KEY_MAX]; /* "" is the document itself */
  unsigned key_line, key_col;   /* 1-based; where the key (or sequence entry) starts */
  unsigned val_line, val_col;   /* 1-based; where its value starts */
  cfg_node_kind kind;           /* shape of the value */
  bool quoted;                  /* scalar written in quotes or as a block scalar */
  bool is_null;                 /* plain scalar "", "~", "null", "Null" or "NULL" */
} cfg_pos;

typedef struct cfg_index {
  cfg_pos *entries;
  size_t count;
  size_t cap;
  bool empty; /* the stream holds no document at all */
} cfg_index;

/*
 * Builds the index of `data` (size bytes). On failure returns the status, with err filled
 * (message prefixed by `name`). The caller frees idx with cfg_index_free() in every case.
 */
hv_config_status cfg_index_build(const char *name, const uint8_t *data, size_t size,
                                 cfg_index *idx, hv_config_error *err);
void cfg_index_free(cfg_index *idx);

/* The entry of exactly this path, or NULL. */
const cfg_pos *cfg_index_find(const cfg_index *idx, const char *path);

/*
 * Copies a key name into a path buffer position, replacing bytes outside printable ASCII with '?'
 * so that an error message can always be printed safely. Returns false if it does not fit.
 */
bool cfg_path_append(char *path, size_t size, const char *name, size_t name_len);

/*
 * Fills err: status, key, position and "NAME:LINE:COL: KEY: text". line 0 means no position;
 * an empty key is left out. Returns status.
 */
hv_config_status cfg_fail(hv_config_error *err, hv_config_status status, const char *name,
                          const char *key, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#endif /* HV_CONFIG_INT_H */
