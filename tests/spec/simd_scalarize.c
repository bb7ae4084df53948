/*
 * simd_scalarize: rewrites a SIMD spec file (the JSON and modules wast2json makes of it) into a
 * .wast that `hypervisor spectest` can check although v128 values cannot cross the engine's API.
 *
 *   simd_scalarize IN.json OUT.wast
 *
 * Each module of the input is kept byte for byte and registered as "m<k>"; after it comes one
 * wrapper module that imports the functions its assertions invoke and exports, per assertion, a
 * function without parameters: it calls the import with the assertion's arguments as constants
 * and returns the results as scalars. A v128 with integer lanes becomes two i64 (its i64x2 lanes);
 * with float lanes, each lane becomes its bits as an integer, or the float itself when the
 * expectation is a NaN pattern (nan:canonical, nan:arithmetic), which the runner then checks.
 * Scalar floats travel as bits the same way. assert_trap calls drop the results; assert_invalid
 * and assert_malformed are copied (binary modules as bytes, text modules quoted). The order of the
 * calls is the order of the assertions, so assertions that depend on earlier ones (stores, then
 * loads) still do.
 *
 * The wrappers use v128.const, the extract_lane instructions and reinterpretations: those must
 * work for any of this to mean something, and are tested on their own in tests/interp.
 * Assertions with references are left out (the SIMD files have none); the count of assertions
 * written and left out goes to stderr.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *dir_of_input; /* where the .wasm and .wat files of the input are */

/* Writes `n` bytes as a wast string: printable ASCII as is, everything else as \hh. */
static void put_string(FILE *out, const uint8_t *p, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '"' && p[i] != '\\') fputc(p[i], out);
    else fprintf(out, "\\%02x", p[i]);
  }
  fputc('"', out);
}

/* The contents of a file next to the input JSON; NULL if it cannot be read. Caller frees. */
static uint8_t *read_side_file(const char *name, size_t *n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir_of_input, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *bigger = realloc(buf, cap *= 2);
      if (!bigger) free(buf);
      buf = bigger;
    }
  }
  fclose(f);
  *n = len;
  return buf;
}

static const char *str(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool is_nan_pattern(const char *text) {
  return text && (strcmp(text, "nan:canonical") == 0 || strcmp(text, "nan:arithmetic") == 0);
}

/* Lane width in bytes of a wast2json lane type ("i8" .. "f64"); 0 if unknown. */
static unsigned lane_bytes(const char *lane_type) {
  if (!lane_type) return 0;
  if (strcmp(lane_type, "i8") == 0) return 1;
  if (strcmp(lane_type, "i16") == 0) return 2;
  if (strcmp(lane_type, "i32") == 0 || strcmp(lane_type, "f32") == 0) return 4;
  if (strcmp(lane_type, "i64") == 0 || strcmp(lane_type, "f64") == 0) return 8;
  return 0;
}

/* The two 64-bit halves of a v128 value (lanes as unsigned decimal bit patterns). A NaN pattern
 * counts as 0 (only used for arguments, which never have one). */
static bool v128_halves(const json_t *v, uint64_t half[2]) {
  unsigned w = lane_bytes(str(v, "lane_type"));
  const json_t *lanes = json_object_get(v, "value");
  if (!w || !json_is_array(lanes) || json_array_size(lanes) != 16 / w) return false;
  uint8_t bytes[16];
  for (size_t i = 0; i < 16 / w; i++) {
    const char *text = json_string_value(json_array_get(lanes, i));
    uint64_t lane = text && !is_nan_pattern(text) ? strtoull(text, NULL, 10) : 0;
    for (unsigned b = 0; b < w; b++) bytes[i * w + b] = (uint8_t)(lane >> (8 * b));
  }
  half[0] = half[1] = 0;
  for (int b = 7; b >= 0; b--) {
    half[0] = half[0] << 8 | bytes[b];
    half[1] = half[1] << 8 | bytes[8 + b];
  }
  return true;
}

static bool supported_type(const char *type) {
  return type && (strcmp(type, "i32") == 0 || strcmp(type, "i64") == 0 || strcmp(type, "f32") == 0 ||
                  strcmp(type, "f64") == 0 || strcmp(type, "v128") == 0);
}

/* An argument as a constant instruction. */
static bool put_const(FILE *out, const json_t *arg) {
  const char *type = str(arg, "type"), *text = str(arg, "value");
  if (strcmp(type, "v128") == 0) {
    uint64_t half[2];
    if (!v128_halves(arg, half)) return false;
    fprintf(out, " (v128.const i64x2 %" PRIu64 " %" PRIu64 ")", half[0], half[1]);
  } else if (!text) {
    return false;
  } else if (strcmp(type, "f32") == 0) {
    fprintf(out, " (f32.reinterpret_i32 (i32.const %s))", text);
  } else if (strcmp(type, "f64") == 0) {
    fprintf(out, " (f64.reinterpret_i64 (i64.const %s))", text);
  } else {
    fprintf(out, " (%s.const %s)", type, text);
  }
  return true;
}

/* A growable text buffer (open_memstream). */
typedef struct text {
  char *p;
  size_t n;
  FILE *f;
} text;

static void text_open(text *t) {
  t->p = NULL;
  t->n = 0;
  t->f = open_memstream(&t->p, &t->n);
  if (!t->f) abort();
}

static void text_close(text *t) {
  fclose(t->f);
  free(t->p);
}

/*
 * The scalar results of result `k` (in local `k`, of the expected value `e`): appended to the
 * wrapper's result types, its body and the assertion's expected values.
 */
static void scalarize(const json_t *e, unsigned k, text *results, text *body, text *expected) {
  const char *type = str(e, "type"), *value = str(e, "value");
  if (strcmp(type, "i32") == 0 || strcmp(type, "i64") == 0) {
    fprintf(results->f, " %s", type);
    fprintf(body->f, " (local.get %u)", k);
    fprintf(expected->f, " (%s.const %s)", type, value);
  } else if (strcmp(type, "f32") == 0 || strcmp(type, "f64") == 0) {
    const char *bits = type[1] == '3' ? "i32" : "i64";
    if (is_nan_pattern(value)) {
      fprintf(results->f, " %s", type);
      fprintf(body->f, " (local.get %u)", k);
      fprintf(expected->f, " (%s.const %s)", type, value);
    } else {
      fprintf(results->f, " %s", bits);
      fprintf(body->f, " (%s.reinterpret_%s (local.get %u))", bits, type, k);
      fprintf(expected->f, " (%s.const %s)", bits, value);
    }
  } else { /* v128 */
    const char *lane_type = str(e, "lane_type");
    const json_t *lanes = json_object_get(e, "value");
    if (lane_type[0] == 'i') {
      uint64_t half[2];
      v128_halves(e, half);
      for (int h = 0; h < 2; h++) {
        fprintf(results->f, " i64");
        fprintf(body->f, " (i64x2.extract_lane %d (local.get %u))", h, k);
        fprintf(expected->f, " (i64.const %" PRIu64 ")", half[h]);
      }
      return;
    }
    bool f32 = strcmp(lane_type, "f32") == 0;
    for (size_t j = 0; j < json_array_size(lanes); j++) {
      const char *lane = json_string_value(json_array_get(lanes, j));
      if (is_nan_pattern(lane)) {
        fprintf(results->f, " %s", lane_type);
        fprintf(body->f, " (%s.extract_lane %zu (local.get %u))", f32 ? "f32x4" : "f64x2", j, k);
        fprintf(expected->f, " (%s.const %s)", lane_type, lane);
      } else {
        fprintf(results->f, " %s", f32 ? "i32" : "i64");
        fprintf(body->f, " (%s.extract_lane %zu (local.get %u))", f32 ? "i32x4" : "i64x2", j, k);
        fprintf(expected->f, " (%s.const %s)", f32 ? "i32" : "i64", lane);
      }
    }
  }
}

/* The assertions on one module, collected until the next module starts. */
typedef struct group {
  int module; /* index of the module they run against; -1 before the first */
  text imports, funcs, asserts;
  unsigned count;
  json_t *fields; /* field name -> import index */
} group;

static void group_start(group *g, int module) {
  g->module = module;
  text_open(&g->imports);
  text_open(&g->funcs);
  text_open(&g->asserts);
  g->count = 0;
  g->fields = json_object();
}

static void group_flush(group *g, FILE *out) {
  fflush(g->imports.f);
  fflush(g->funcs.f);
  fflush(g->asserts.f);
  if (g->count) fprintf(out, "(module\n%s%s)\n", g->imports.p, g->funcs.p);
  fputs(g->asserts.p ? g->asserts.p : "", out);
  text_close(&g->imports);
  text_close(&g->funcs);
  text_close(&g->asserts);
  json_decref(g->fields);
}

/* One assert_return / assert_trap: false if it is left out. */
static bool add_assertion(group *g, const json_t *cmd, bool trap) {
  const json_t *action = json_object_get(cmd, "action");
  const json_t *args = json_object_get(action, "args"), *expected = json_object_get(cmd, "expected");
  const char *field = str(action, "field");
  if (g->module < 0 || !field || strcmp(str(action, "type"), "invoke") != 0 || json_object_get(action, "module"))
    return false;
  size_t i;
  const json_t *v;
  json_array_foreach(args, i, v) if (!supported_type(str(v, "type"))) return false;
  json_array_foreach(expected, i, v) if (!supported_type(str(v, "type"))) return false;

  /* the import, once per field */
  const json_t *known = json_object_get(g->fields, field);
  size_t import_index = known ? (size_t)json_integer_value(known) : json_object_size(g->fields);
  if (!known) {
    json_object_set_new(g->fields, field, json_integer((json_int_t)import_index));
    fprintf(g->imports.f, "  (import \"m%d\" ", g->module);
    put_string(g->imports.f, (const uint8_t *)field, strlen(field));
    fprintf(g->imports.f, " (func $f%zu (param", import_index);
    json_array_foreach(args, i, v) fprintf(g->imports.f, " %s", str(v, "type"));
    fprintf(g->imports.f, ") (result");
    json_array_foreach(expected, i, v) fprintf(g->imports.f, " %s", str(v, "type"));
    fprintf(g->imports.f, ")))\n");
  }

  text results, body, expect;
  text_open(&results);
  text_open(&body);
  text_open(&expect);
  bool ok = true;
  json_array_foreach(args, i, v) ok = ok && put_const(body.f, v);
  fprintf(body.f, " (call $f%zu)", import_index);
  size_t n = json_array_size(expected);
  if (trap) {
    for (i = 0; i < n; i++) fprintf(body.f, " (drop)");
  } else {
    for (i = n; i-- > 0;) fprintf(body.f, " (local.set %zu)", i);
    json_array_foreach(expected, i, v) scalarize(v, (unsigned)i, &results, &body, &expect);
  }
  fflush(results.f);
  fflush(body.f);
  fflush(expect.f);
  if (ok) {
    fprintf(g->funcs.f, "  (func (export \"w%u\") (result%s)", g->count, results.p ? results.p : "");
    if (!trap && n) {
      fprintf(g->funcs.f, " (local");
      json_array_foreach(expected, i, v) fprintf(g->funcs.f, " %s", str(v, "type"));
      fprintf(g->funcs.f, ")");
    }
    fprintf(g->funcs.f, "\n   %s)\n", body.p);
    if (trap) {
      fprintf(g->asserts.f, "(assert_trap (invoke \"w%u\") ", g->count);
      const char *msg = str(cmd, "text");
      put_string(g->asserts.f, (const uint8_t *)msg, msg ? strlen(msg) : 0);
      fprintf(g->asserts.f, ")\n");
    } else {
      fprintf(g->asserts.f, "(assert_return (invoke \"w%u\")%s)\n", g->count, expect.p ? expect.p : "");
    }
    g->count++;
  }
  text_close(&results);
  text_close(&body);
  text_close(&expect);
  return ok;
}

/* assert_invalid / assert_malformed: the module as the input has it. */
static bool copy_module_assertion(FILE *out, const json_t *cmd) {
  const char *filename = str(cmd, "filename"), *kind = str(cmd, "type"), *msg = str(cmd, "text");
  const char *module_type = str(cmd, "module_type");
  size_t n = 0;
  uint8_t *bytes = filename ? read_side_file(filename, &n) : NULL;
  if (!bytes) return false;
  bool quoted = module_type && strcmp(module_type, "text") == 0;
  fprintf(out, "(%s (module %s ", kind, quoted ? "quote" : "binary");
  put_string(out, bytes, n);
  fprintf(out, ") ");
  put_string(out, (const uint8_t *)msg, msg ? strlen(msg) : 0);
  fprintf(out, ")\n");
  free(bytes);
  return true;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s IN.json OUT.wast\n", argv[0]);
    return 2;
  }
  json_error_t jerr;
  json_t *root = json_load_file(argv[1], 0, &jerr);
  if (!root) {
    fprintf(stderr, "%s: %s (line %d)\n", argv[1], jerr.text, jerr.line);
    return 1;
  }
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s", argv[1]);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = '\0';
  else snprintf(dir, sizeof dir, ".");
  dir_of_input = dir;
  FILE *out = fopen(argv[2], "w");
  if (!out) {
    perror(argv[2]);
    return 1;
  }
  fprintf(out, ";; generated by simd_scalarize from %s: do not edit\n", argv[1]);

  group g;
  group_start(&g, -1);
  int modules = 0;
  unsigned written = 0, left_out = 0;
  size_t i;
  const json_t *cmd;
  json_array_foreach(json_object_get(root, "commands"), i, cmd) {
    const char *type = str(cmd, "type");
    bool module_assertion = strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_malformed") == 0;
    if (strcmp(type, "module") == 0) {
      group_flush(&g, out);
      size_t n = 0;
      uint8_t *bytes = read_side_file(str(cmd, "filename"), &n);
      if (!bytes) {
        fprintf(stderr, "%s: cannot read %s\n", argv[1], str(cmd, "filename"));
        return 1;
      }
      fprintf(out, "(module $m%d binary ", modules);
      put_string(out, bytes, n);
      fprintf(out, ")\n(register \"m%d\" $m%d)\n", modules, modules);
      free(bytes);
      group_start(&g, modules++);
    } else if (strcmp(type, "assert_return") == 0 || strcmp(type, "assert_trap") == 0) {
      if (add_assertion(&g, cmd, type[7] == 't')) written++;
      else left_out++;
    } else if (module_assertion) {
      /* after the group's calls: copying them now would run before the calls they follow */
      fflush(g.asserts.f);
      if (copy_module_assertion(g.asserts.f, cmd)) written++;
      else left_out++;
    } else {
      left_out++;
    }
  }
  group_flush(&g, out);
  fclose(out);
  json_decref(root);
  fprintf(stderr, "%s: %u assertions written, %u left out\n", argv[1], written, left_out);
  return 0;
}
