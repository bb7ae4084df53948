/*
 * yaml_index.c: pass 1 of the configuration loader (see config_int.h): one walk over libyaml's
 * events that records where every key is, and refuses the YAML features the config does not use.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config_int.h"

/* ---- Errors ---------------------------------------------------------------------------------- */

/* Appends s to the NUL-terminated dst[size], cutting it if it does not fit. */
static void append(char *dst, size_t size, const char *s) {
  size_t len = strnlen(dst, size);
  if (len + 1 >= size) return;
  size_t n = strlen(s);
  if (n > size - 1 - len) n = size - 1 - len;
  memcpy(dst + len, s, n);
  dst[len + n] = '\0';
}

hv_config_status cfg_fail(hv_config_error *err, hv_config_status status, const char *name,
                          const char *key, unsigned line, unsigned col, const char *fmt, ...) {
  if (err == NULL) return status;
  err->status = status;
  err->line = line;
  err->column = col;
  err->key[0] = '\0';
  append(err->key, sizeof err->key, key != NULL ? key : "");
  char text[HV_CONFIG_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  /* "NAME:LINE:COL: KEY: text", the parts that exist. */
  err->message[0] = '\0';
  append(err->message, sizeof err->message, name != NULL ? name : "config");
  if (line > 0) {
    char pos[32];
    snprintf(pos, sizeof pos, ":%u:%u", line, col);
    append(err->message, sizeof err->message, pos);
  }
  append(err->message, sizeof err->message, ": ");
  if (err->key[0] != '\0') {
    append(err->message, sizeof err->message, err->key);
    append(err->message, sizeof err->message, ": ");
  }
  append(err->message, sizeof err->message, text);
  return status;
}

/* ---- Index ----------------------------------------------------------------------------------- */

void cfg_index_free(cfg_index *idx) {
  free(idx->entries);
  idx->entries = NULL;
  idx->count = idx->cap = 0;
}

const cfg_pos *cfg_index_find(const cfg_index *idx, const char *path) {
  for (size_t i = 0; i < idx->count; i++)
    if (strcmp(idx->entries[i].path, path) == 0) return &idx->entries[i];
  return NULL;
}

bool cfg_path_append(char *path, size_t size, const char *name, size_t name_len) {
  size_t len = strlen(path);
  if (len + name_len >= size) return false;
  for (size_t i = 0; i < name_len; i++) {
    unsigned char c = (unsigned char)name[i];
    path[len + i] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
  }
  path[len + name_len] = '\0';
  return true;
}

typedef struct walker {
  yaml_parser_t parser;
  cfg_index *idx;
  const char *name;
  const uint8_t *data;
  size_t size;
  hv_config_error *err;
} walker;

/* Adds an entry and returns its index, or SIZE_MAX (err filled). */
static size_t add_entry(walker *w, const char *path, const yaml_mark_t *mark) {
  cfg_index *idx = w->idx;
  if (idx->count == CFG_MAX_ENTRIES) {
    cfg_fail(w->err, HV_CONFIG_TOO_LARGE, w->name, path, (unsigned)mark->line + 1,
             (unsigned)mark->column + 1, "more than %u keys and list entries", CFG_MAX_ENTRIES);
    return SIZE_MAX;
  }
  if (idx->count == idx->cap) {
    size_t cap = idx->cap == 0 ? 64 : idx->cap * 2;
    cfg_pos *grown = realloc(idx->entries, cap * sizeof *grown);
    if (grown == NULL) {
      cfg_fail(w->err, HV_CONFIG_NO_MEMORY, w->name, NULL, 0, 0, "out of memory");
      return SIZE_MAX;
    }
    idx->entries = grown;
    idx->cap = cap;
  }
  cfg_pos *p = &idx->entries[idx->count];
  memset(p, 0, sizeof *p);
  snprintf(p->path, sizeof p->path, "%s", path);
  p->key_line = p->val_line = (unsigned)mark->line + 1;
  p->key_col = p->val_col = (unsigned)mark->column + 1;
  return idx->count++;
}

/* A libyaml failure: its problem and exact position. */
static hv_config_status syntax_error(walker *w) {
  const yaml_parser_t *ps = &w->parser;
  if (ps->error == YAML_MEMORY_ERROR)
    return cfg_fail(w->err, HV_CONFIG_NO_MEMORY, w->name, NULL, 0, 0, "out of memory");
  unsigned line, col;
  if (ps->error == YAML_READER_ERROR) {
    /* Reader errors (bad UTF-8, control bytes) carry a byte offset, not a mark. */
    size_t off = ps->problem_offset < w->size ? ps->problem_offset : w->size;
    line = 1;
    col = 1;
    for (size_t i = 0; i < off; i++) {
      if (w->data[i] == '\n') {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
  } else {
    line = (unsigned)ps->problem_mark.line + 1;
    col = (unsigned)ps->problem_mark.column + 1;
  }
  const char *problem = ps->problem != NULL ? ps->problem : "malformed YAML";
  if (ps->context != NULL) {
    return cfg_fail(w->err, HV_CONFIG_SYNTAX, w->name, NULL, line, col,
                    "YAML syntax error: %s (%s at line %u)", problem, ps->context,
                    (unsigned)ps->context_mark.line + 1);
  }
  return cfg_fail(w->err, HV_CONFIG_SYNTAX, w->name, NULL, line, col, "YAML syntax error: %s",
                  problem);
}

static hv_config_status next(walker *w, yaml_event_t *ev) {
  if (!yaml_parser_parse(&w->parser, ev)) return syntax_error(w);
  return HV_CONFIG_OK;
}

static hv_config_status unsupported(walker *w, const char *path, const yaml_mark_t *m,
                                    const char *what) {
  return cfg_fail(w->err, HV_CONFIG_UNSUPPORTED_YAML, w->name, path, (unsigned)m->line + 1,
                  (unsigned)m->column + 1, "%s are not supported in the configuration", what);
}

static bool plain_null(const yaml_event_t *ev) {
  if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *v = (const char *)ev->data.scalar.value;
  return ev->data.scalar.length == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/*
 * Walks the node that starts with *ev (consumed: deleted before returning). `entry` is the index
 * entry of the key or sequence entry that holds this node, or SIZE_MAX for the document.
 */
static hv_config_status walk_node(walker *w, yaml_event_t *ev, const char *path, size_t entry,
                                  unsigned depth) {
  hv_config_status st = HV_CONFIG_OK;
  const yaml_mark_t mark = ev->start_mark;
  const yaml_char_t *anchor = NULL, *tag = NULL;
  cfg_node_kind kind;
  switch (ev->type) {
    case YAML_SCALAR_EVENT:
      kind = CFG_NODE_SCALAR;
      anchor = ev->data.scalar.anchor;
      tag = ev->data.scalar.tag;
      break;
    case YAML_MAPPING_START_EVENT:
      kind = CFG_NODE_MAPPING;
      anchor = ev->data.mapping_start.anchor;
      tag = ev->data.mapping_start.tag;
      break;
    case YAML_SEQUENCE_START_EVENT:
      kind = CFG_NODE_SEQUENCE;
      anchor = ev->data.sequence_start.anchor;
      tag = ev->data.sequence_start.tag;
      break;
    case YAML_ALIAS_EVENT:
      yaml_event_delete(ev);
      return unsupported(w, path, &mark, "aliases (*name)");
    default:
      yaml_event_delete(ev);
      return cfg_fail(w->err, HV_CONFIG_INTERNAL, w->name, path, (unsigned)mark.line + 1,
                      (unsigned)mark.column + 1, "unexpected YAML event %d", (int)ev->type);
  }
  if (anchor != NULL) {
    yaml_event_delete(ev);
    return unsupported(w, path, &mark, "anchors (&name)");
  }
  if (tag != NULL) {
    yaml_event_delete(ev);
    return unsupported(w, path, &mark, "tags (!tag)");
  }
  if (entry != SIZE_MAX) {
    cfg_pos *p = &w->idx->entries[entry];
    p->val_line = (unsigned)mark.line + 1;
    p->val_col = (unsigned)mark.column + 1;
    p->kind = kind;
    if (kind == CFG_NODE_SCALAR) {
      p->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
      p->is_null = plain_null(ev);
      if (memchr(ev->data.scalar.value, '\0', ev->data.scalar.length) != NULL) {
        yaml_event_delete(ev);
        return cfg_fail(w->err, HV_CONFIG_BAD_VALUE, w->name, path, (unsigned)mark.line + 1,
                        (unsigned)mark.column + 1, "a value must not contain a NUL character");
      }
    }
  }
  yaml_event_delete(ev);
  if (kind == CFG_NODE_SCALAR) return HV_CONFIG_OK;
  if (depth >= CFG_MAX_DEPTH) {
    return cfg_fail(w->err, HV_CONFIG_BAD_VALUE, w->name, path, (unsigned)mark.line + 1,
                    (unsigned)mark.column + 1, "nested more than %u levels deep", CFG_MAX_DEPTH);
  }

  size_t first_child = w->idx->count;
  for (size_t n = 0;; n++) {
    yaml_event_t child;
    if ((st = next(w, &child)) != HV_CONFIG_OK) return st;
    if (child.type == YAML_MAPPING_END_EVENT || child.type == YAML_SEQUENCE_END_EVENT) {
      yaml_event_delete(&child);
      return HV_CONFIG_OK;
    }
    char child_path[HV_CONFIG_KEY_MAX];
    snprintf(child_path, sizeof child_path, "%s", path);
    if (kind == CFG_NODE_SEQUENCE) {
      char sub[24];
      int len = snprintf(sub, sizeof sub, "[%zu]", n);
      if (!cfg_path_append(child_path, sizeof child_path, sub, (size_t)len)) {
        yaml_event_delete(&child);
        return cfg_fail(w->err, HV_CONFIG_BAD_VALUE, w->name, path, (unsigned)mark.line + 1,
                        (unsigned)mark.column + 1, "key path too long");
      }
      size_t e = add_entry(w, child_path, &child.start_mark);
      if (e == SIZE_MAX) {
        yaml_event_delete(&child);
        return w->err != NULL ? w->err->status : HV_CONFIG_NO_MEMORY;
      }
      if ((st = walk_node(w, &child, child_path, e, depth + 1)) != HV_CONFIG_OK) return st;
      continue;
    }

    /* A mapping: the key must be a plain string, then comes its value. */
    const yaml_mark_t km = child.start_mark;
    if (child.type != YAML_SCALAR_EVENT) {
      yaml_event_delete(&child);
      return unsupported(w, path, &km, "keys that are not strings");
    }
    if (child.data.scalar.anchor != NULL || child.data.scalar.tag != NULL) {
      yaml_event_delete(&child);
      return unsupported(w, path, &km, "anchors and tags on keys");
    }
    const char *key = (const char *)child.data.scalar.value;
    size_t key_len = child.data.scalar.length;
    if (key_len > CFG_KEY_NAME_MAX || memchr(key, '\0', key_len) != NULL) {
      yaml_event_delete(&child);
      return cfg_fail(w->err, HV_CONFIG_UNKNOWN_KEY, w->name, path, (unsigned)km.line + 1,
                      (unsigned)km.column + 1, "unknown key (%s)",
                      key_len > CFG_KEY_NAME_MAX ? "longer than any valid key" : "contains NUL");
    }
    bool fits = true;
    if (path[0] != '\0') fits = cfg_path_append(child_path, sizeof child_path, ".", 1);
    fits = fits && cfg_path_append(child_path, sizeof child_path, key, key_len);
    yaml_event_delete(&child);
    if (!fits) {
      return cfg_fail(w->err, HV_CONFIG_UNKNOWN_KEY, w->name, path, (unsigned)km.line + 1,
                      (unsigned)km.column + 1, "key path too long");
    }
    for (size_t i = first_child; i < w->idx->count; i++) {
      const cfg_pos *other = &w->idx->entries[i];
      if (strcmp(other->path, child_path) == 0) {
        return cfg_fail(w->err, HV_CONFIG_DUPLICATE_KEY, w->name, child_path, (unsigned)km.line + 1,
                        (unsigned)km.column + 1, "duplicate key (first at line %u)",
                        other->key_line);
      }
    }
    size_t e = add_entry(w, child_path, &km);
    if (e == SIZE_MAX) return w->err != NULL ? w->err->status : HV_CONFIG_NO_MEMORY;
    yaml_event_t value;
    if ((st = next(w, &value)) != HV_CONFIG_OK) return st;
    if ((st = walk_node(w, &value, child_path, e, depth + 1)) != HV_CONFIG_OK) return st;
  }
}

hv_config_status cfg_index_build(const char *name, const uint8_t *data, size_t size, cfg_index *idx,
                                 hv_config_error *err) {
  memset(idx, 0, sizeof *idx);
  walker w = {.idx = idx, .name = name, .data = data, .size = size, .err = err};
  if (!yaml_parser_initialize(&w.parser))
    return cfg_fail(err, HV_CONFIG_NO_MEMORY, name, NULL, 0, 0, "cannot initialise libyaml");
  yaml_parser_set_input_string(&w.parser, data, size);

  hv_config_status st;
  yaml_event_t ev;
  int documents = 0;
  for (;;) {
    if ((st = next(&w, &ev)) != HV_CONFIG_OK) goto out;
    yaml_event_type_t type = ev.type;
    yaml_mark_t mark = ev.start_mark;
    if (type == YAML_STREAM_END_EVENT) {
      yaml_event_delete(&ev);
      break;
    }
    if (type == YAML_DOCUMENT_START_EVENT) {
      yaml_event_delete(&ev);
      if (++documents > 1) {
        st = cfg_fail(err, HV_CONFIG_UNSUPPORTED_YAML, name, NULL, (unsigned)mark.line + 1,
                      (unsigned)mark.column + 1, "more than one YAML document in the file");
        goto out;
      }
      yaml_event_t root;
      if ((st = next(&w, &root)) != HV_CONFIG_OK) goto out;
      size_t e = add_entry(&w, "", &root.start_mark);
      if (e == SIZE_MAX) {
        yaml_event_delete(&root);
        st = err != NULL ? err->status : HV_CONFIG_NO_MEMORY;
        goto out;
      }
      if ((st = walk_node(&w, &root, "", e, 0)) != HV_CONFIG_OK) goto out;
      continue;
    }
    yaml_event_delete(&ev); /* STREAM_START, DOCUMENT_END */
  }
  idx->empty = documents == 0;
  st = HV_CONFIG_OK;
out:
  yaml_parser_delete(&w.parser);
  return st;
}
