/*
 * cabi.c: the Canonical ABI for core modules (include/hv_cabi.h): strings and bytes lowered into
 * the guest's memory through cabi_realloc, string and bytes results lifted out through a retptr,
 * then cabi_post_<name>.
 *
 * Every pointer and length from the guest is a u32 checked against the memory's current size in
 * 64-bit arithmetic before a byte moves, and the memory's data and size are read again after every
 * call into the guest (any of them may grow the memory). Every host size is checked for overflow
 * before it is used. One exit per function: failures jump to `done`, which frees what is held.
 */
#include "hv_cabi.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CABI_REALLOC_NAME "cabi_realloc"
#define CABI_MEMORY_NAME "memory"
#define CABI_POST_PREFIX "cabi_post_"
#define CABI_RETAREA_SIZE 8u  /* ptr: u32 LE, len: u32 LE */
#define CABI_RETAREA_ALIGN 4u /* the alignment of that pair */

/* ---- Status names and texts ------------------------------------------------------------------ */

static const char *const cabi_status_names[] = {
#define HV_CABI__NAME(name, text) #name,
    HV_CABI_STATUS_MAP(HV_CABI__NAME)
#undef HV_CABI__NAME
};

static const char *const cabi_status_texts[] = {
#define HV_CABI__TEXT(name, text) text,
    HV_CABI_STATUS_MAP(HV_CABI__TEXT)
#undef HV_CABI__TEXT
};

#define CABI_STATUS_COUNT (sizeof cabi_status_names / sizeof cabi_status_names[0])

const char *hv_cabi_status_name(hv_cabi_status status) {
  return (unsigned)status < CABI_STATUS_COUNT ? cabi_status_names[status] : "HV_CABI_UNKNOWN_STATUS";
}

const char *hv_cabi_status_text(hv_cabi_status status) {
  return (unsigned)status < CABI_STATUS_COUNT ? cabi_status_texts[status] : "unknown status";
}

/* ---- Types -------------------------------------------------------------------------------- */

uint32_t hv_cabi_flat_count(hv_type type) {
  if (hv_type_is_numeric(type)) return 1;
  if (type == HV_TYPE_STRING || type == HV_TYPE_BYTES) return 2;
  return 0;
}

static bool cabi_is_blob(hv_type type) { return type == HV_TYPE_STRING || type == HV_TYPE_BYTES; }

static const char *cabi_valtype_name(hvw_valtype type) {
  const char *name = hvw_valtype_name(type);
  return name ? name : "an unknown type";
}

bool hv_cabi_utf8_valid(const uint8_t *bytes, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = bytes[i];
    size_t extra;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) { /* 0xC0 and 0xC1 could only start overlong forms */
      extra = 1, cp = c & 0x1Fu, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0Fu, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) { /* 0xF5 and above could only start > U+10FFFF */
      extra = 3, cp = c & 0x07u, min = 0x10000;
    } else {
      return false; /* a continuation byte without a lead, or 0xC0, 0xC1, 0xF5..0xFF */
    }
    if (len - i <= extra) return false; /* truncated at the end */
    for (size_t k = 1; k <= extra; k++) {
      uint8_t cc = bytes[i + k];
      if ((cc & 0xC0) != 0x80) return false; /* truncated by another character */
      cp = cp << 6 | (cc & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

/* ---- Failures ----------------------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static hv_cabi_status cabi_fail(hv_cabi_status status, char *detail,
                                                                      size_t detail_size,
                                                                      const char *fmt, ...) {
  if (detail && detail_size > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, detail_size, fmt, ap);
    va_end(ap);
  }
  return status;
}

/* What the engine's status says happened to a call, for `detail`. */
static const char *cabi_engine_verb(hvw_status status) {
  switch (status) {
    case HVW_TRAP: return "trapped";
    case HVW_TIMEOUT: return "was interrupted";
    case HVW_GAS_EXHAUSTED: return "ran out of gas";
    case HVW_MEMORY_EXCEEDED: return "exceeded the memory limit";
    default: return "failed";
  }
}

/* HV_CABI_ENGINE for a call the engine stopped; `what` names the call ("the export 'f'"). */
static hv_cabi_status cabi_engine_fail(const hvw_error *err, hvw_status status, const char *what,
                                       char *detail, size_t detail_size) {
  hvw_status st = err->status != HVW_OK ? err->status : status;
  return cabi_fail(HV_CABI_ENGINE, detail, detail_size, "%s %s: %.*s", what, cabi_engine_verb(st),
                   (int)strnlen(err->message, sizeof err->message), err->message);
}

/* ---- The shape check ---------------------------------------------------------------------- */

/* The argument types come either from an hv_type array or from the values themselves. */
typedef struct cabi_types {
  const hv_type *types;
  const hv_value *values;
} cabi_types;

static hv_type cabi_type_at(cabi_types t, size_t k) { return t.types ? t.types[k] : t.values[k].type; }

static hv_cabi_status cabi_check_shape(const hvw_functype_view *core, cabi_types args, size_t arg_count,
                                       hv_type result_type, char *detail, size_t detail_size) {
  uint32_t p = 0; /* the next core parameter */
  for (size_t k = 0; k < arg_count; k++) {
    hv_type t = cabi_type_at(args, k);
    uint32_t flat = hv_cabi_flat_count(t);
    if (flat == 0)
      return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                       "argument %zu has type code 0x%02x, which is not a protocol type", k + 1, t);
    if (flat > core->param_count - p)
      return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                       "the export takes %u core parameter%s; the arguments need more (argument %zu, "
                       "%s, would start at core parameter %u)",
                       core->param_count, core->param_count == 1 ? "" : "s", k + 1, hv_type_name(t), p + 1);
    for (uint32_t j = 0; j < flat; j++) {
      hvw_valtype want = flat == 1 ? t : HVW_TYPE_I32;
      if (core->params[p + j] != want) {
        if (flat == 1)
          return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                           "argument %zu is %s, but core parameter %u is %s", k + 1, hv_type_name(t), p + 1,
                           cabi_valtype_name(core->params[p]));
        return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                         "argument %zu (%s) needs core parameters %u and %u to be i32, i32 (ptr, len); "
                         "core parameter %u is %s",
                         k + 1, hv_type_name(t), p + 1, p + 2, p + j + 1, cabi_valtype_name(core->params[p + j]));
      }
    }
    p += flat;
  }
  if (p != core->param_count)
    return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                     "the export takes %u core parameter%s; the arguments make %u", core->param_count,
                     core->param_count == 1 ? "" : "s", p);
  if (result_type == 0) return HV_CABI_OK;
  if (!cabi_is_blob(result_type))
    return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                     "a declared result must be string or bytes (type code 0x%02x is not)", result_type);
  if (core->result_count != 1 || core->results[0] != HVW_TYPE_I32)
    return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                     "a %s result needs the export to return exactly one i32 (the retptr); it returns %u "
                     "result%s%s%s",
                     hv_type_name(result_type), core->result_count, core->result_count == 1 ? "" : "s",
                     core->result_count == 1 ? ", " : "",
                     core->result_count == 1 ? cabi_valtype_name(core->results[0]) : "");
  return HV_CABI_OK;
}

hv_cabi_status hv_cabi_check(const hvw_functype_view *core, const hv_type *arg_types, size_t arg_count,
                             hv_type result_type, char *detail, size_t detail_size) {
  if (detail && detail_size > 0) detail[0] = '\0';
  if (arg_count > 0 && arg_types == NULL)
    return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size, "no argument types given");
  return cabi_check_shape(core, (cabi_types){.types = arg_types}, arg_count, result_type, detail, detail_size);
}

/* ---- The call ----------------------------------------------------------------------------- */

static bool cabi_functype_is(hvw_functype_view ft, uint32_t params, const hvw_valtype *param_types,
                             uint32_t results, const hvw_valtype *result_types) {
  if (ft.param_count != params || ft.result_count != results) return false;
  for (uint32_t k = 0; k < params; k++)
    if (ft.params[k] != param_types[k]) return false;
  for (uint32_t k = 0; k < results; k++)
    if (ft.results[k] != result_types[k]) return false;
  return true;
}

static uint32_t cabi_load_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static hvw_value cabi_i32(uint32_t v) {
  return (hvw_value){.type = HVW_TYPE_I32, .of.i32 = (int32_t)v};
}

/* Everything hv_cabi_call finds before anything runs. */
typedef struct cabi_exports {
  hvw_func *func;
  hvw_functype_view type;
  hvw_func *realloc_fn; /* NULL when no argument needs it */
  hvw_memory *memory;   /* NULL when no value needs it */
  hvw_func *post;       /* NULL when not exported or result_type is 0 */
  char *post_name;       /* "cabi_post_<name>", NUL-terminated, for messages; owned */
} cabi_exports;

/* Steps 1 and 2 of hv_cabi_call: the exports and the checks that need no guest code. */
static hv_cabi_status cabi_prepare(hvw_instance *instance, const char *name, size_t name_len,
                                   const hv_value *args, size_t arg_count, hv_type result_type,
                                   cabi_exports *x, hvw_error *err, char *detail, size_t detail_size) {
  static const hvw_valtype realloc_params[4] = {HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_I32};
  static const hvw_valtype i32_only[1] = {HVW_TYPE_I32};
  hvw_extern ext;
  int shown = name_len > 64 ? 64 : (int)name_len; /* names in messages are cut at 64 bytes */

  if (!hvw_instance_export(instance, name, name_len, &ext) || ext.kind != HVW_EXTERN_FUNC) {
    if (err) {
      *err = (hvw_error){.status = HVW_NOT_FOUND, .trap = HVW_TRAP_NONE};
      snprintf(err->message, sizeof err->message, "no exported function '%.*s'", shown, name);
    }
    return cabi_fail(HV_CABI_ENGINE, detail, detail_size, "no exported function '%.*s'", shown, name);
  }
  x->func = ext.of.func;
  x->type = hvw_func_type(x->func);

  hv_cabi_status st = cabi_check_shape(&x->type, (cabi_types){.values = args}, arg_count, result_type,
                                       detail, detail_size);
  if (st != HV_CABI_OK) return st;

  bool blob_arg = false;
  for (size_t k = 0; k < arg_count; k++) {
    const hv_value *a = &args[k];
    if (hv_type_is_numeric(a->type)) {
      if (a->num.type != a->type)
        return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                         "argument %zu is declared %s but holds a value of type %s", k + 1,
                         hv_type_name(a->type), cabi_valtype_name(a->num.type));
      continue;
    }
    blob_arg = true;
    if (a->len > UINT32_MAX)
      return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                       "argument %zu (%s) is %zu bytes; a 32-bit memory takes at most %" PRIu32, k + 1,
                       hv_type_name(a->type), a->len, UINT32_MAX);
    if (a->len > 0 && a->data == NULL)
      return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size, "argument %zu has no data", k + 1);
    if (a->type == HV_TYPE_STRING && !hv_cabi_utf8_valid(a->data, a->len))
      return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                       "argument %zu is a string but not valid UTF-8", k + 1);
  }

  bool blob_result = cabi_is_blob(result_type);
  if (blob_result) {
    if (name_len > SIZE_MAX - sizeof CABI_POST_PREFIX) goto no_memory; /* cannot happen; never wrap */
    x->post_name = malloc(sizeof CABI_POST_PREFIX + name_len);
    if (!x->post_name) goto no_memory;
    memcpy(x->post_name, CABI_POST_PREFIX, sizeof CABI_POST_PREFIX - 1);
    memcpy(x->post_name + sizeof CABI_POST_PREFIX - 1, name, name_len);
    x->post_name[sizeof CABI_POST_PREFIX - 1 + name_len] = '\0';
    if (hvw_instance_export(instance, x->post_name, sizeof CABI_POST_PREFIX - 1 + name_len, &ext)) {
      if (ext.kind != HVW_EXTERN_FUNC ||
          !cabi_functype_is(hvw_func_type(ext.of.func), 1, i32_only, 0, NULL))
        return cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size,
                         "the export %.*s must be a function of type (i32) -> ()", shown + 10, x->post_name);
      x->post = ext.of.func;
    }
  }

  if (blob_arg) {
    if (!hvw_instance_export(instance, CABI_REALLOC_NAME, sizeof CABI_REALLOC_NAME - 1, &ext) ||
        ext.kind != HVW_EXTERN_FUNC)
      return cabi_fail(HV_CABI_NO_REALLOC, detail, detail_size,
                       "a string or bytes argument needs the export cabi_realloc; there is none");
    if (!cabi_functype_is(hvw_func_type(ext.of.func), 4, realloc_params, 1, i32_only))
      return cabi_fail(HV_CABI_NO_REALLOC, detail, detail_size,
                       "the export cabi_realloc must have type (i32, i32, i32, i32) -> i32");
    x->realloc_fn = ext.of.func;
  }
  if (blob_arg || blob_result) {
    if (!hvw_instance_export(instance, CABI_MEMORY_NAME, sizeof CABI_MEMORY_NAME - 1, &ext) ||
        ext.kind != HVW_EXTERN_MEMORY)
      return cabi_fail(HV_CABI_NO_REALLOC, detail, detail_size, "a string or bytes %s needs the export memory; there is none",
                       blob_arg ? "argument" : "result");
    x->memory = ext.of.memory;
  }
  return HV_CABI_OK;

no_memory:
  return cabi_fail(HV_CABI_HOST_MEMORY, detail, detail_size, "out of host memory");
}

/* Step 3 for one argument: cabi_realloc(0, 0, 1, len), check, copy. k counts from 0. */
static hv_cabi_status cabi_lower_blob(hvw_store *store, const cabi_exports *x, const hv_value *arg, size_t k,
                                      hvw_value *flat, hvw_error *err, char *detail, size_t detail_size) {
  uint32_t len = (uint32_t)arg->len; /* checked against UINT32_MAX in cabi_prepare */
  hvw_value call_args[4] = {cabi_i32(0), cabi_i32(0), cabi_i32(1), cabi_i32(len)};
  hvw_value ret;
  hvw_status ws = hvw_func_call(store, x->realloc_fn, call_args, 4, &ret, 1, err);
  if (ws != HVW_OK) {
    char what[64];
    snprintf(what, sizeof what, "cabi_realloc for argument %zu", k + 1);
    return cabi_engine_fail(err, ws, what, detail, detail_size);
  }
  uint32_t ptr = (uint32_t)ret.of.i32;
  uint64_t size = hvw_memory_size_bytes(x->memory); /* read again: cabi_realloc may have grown it */
  if ((uint64_t)ptr + len > size)
    return cabi_fail(HV_CABI_BAD_POINTER, detail, detail_size,
                     "cabi_realloc for argument %zu returned %" PRIu32 " for %" PRIu32
                     " bytes; the memory has %" PRIu64 " bytes",
                     k + 1, ptr, len, size);
  if (len > 0) memcpy(hvw_memory_data(x->memory) + ptr, arg->data, len);
  flat[0] = cabi_i32(ptr);
  flat[1] = cabi_i32(len);
  return HV_CABI_OK;
}

/* Step 5: the string or bytes result at retptr into out. */
static hv_cabi_status cabi_lift_blob(const cabi_exports *x, uint32_t retptr, hv_type result_type,
                                     uint64_t max_result_bytes, hv_cabi_result *out, char *detail,
                                     size_t detail_size) {
  if (retptr % CABI_RETAREA_ALIGN != 0)
    return cabi_fail(HV_CABI_MISALIGNED, detail, detail_size,
                     "the export returned retptr %" PRIu32 ", which is not 4-byte aligned", retptr);
  uint64_t size = hvw_memory_size_bytes(x->memory); /* read again: the export may have grown it */
  if ((uint64_t)retptr + CABI_RETAREA_SIZE > size)
    return cabi_fail(HV_CABI_BAD_POINTER, detail, detail_size,
                     "the export returned retptr %" PRIu32 "; its 8 bytes are not inside the memory of %" PRIu64
                     " bytes",
                     retptr, size);
  const uint8_t *mem = hvw_memory_data(x->memory);
  uint32_t ptr = cabi_load_u32le(mem + retptr);
  uint32_t len = cabi_load_u32le(mem + retptr + 4);
  if (len > max_result_bytes)
    return cabi_fail(HV_CABI_RESULT_TOO_LARGE, detail, detail_size,
                     "the %s result is %" PRIu32 " bytes; the limit is %" PRIu64, hv_type_name(result_type), len,
                     max_result_bytes);
  if ((uint64_t)ptr + len > size)
    return cabi_fail(HV_CABI_BAD_POINTER, detail, detail_size,
                     "the %s result at retptr %" PRIu32 " is %" PRIu32 " bytes at %" PRIu32
                     "; the memory has %" PRIu64 " bytes",
                     hv_type_name(result_type), retptr, len, ptr, size);
  uint8_t *data = malloc(len > 0 ? len : 1);
  hv_value *values = malloc(sizeof *values);
  if (!data || !values) {
    free(data);
    free(values);
    return cabi_fail(HV_CABI_HOST_MEMORY, detail, detail_size, "out of host memory copying %" PRIu32 " bytes",
                     len);
  }
  if (len > 0) memcpy(data, mem + ptr, len);
  if (result_type == HV_TYPE_STRING && !hv_cabi_utf8_valid(data, len)) {
    free(data);
    free(values);
    return cabi_fail(HV_CABI_BAD_UTF8, detail, detail_size,
                     "the string result (%" PRIu32 " bytes at %" PRIu32 ") is not valid UTF-8", len, ptr);
  }
  values[0] = hv_value_blob(result_type, data, len);
  *out = (hv_cabi_result){.values = values, .count = 1, .data = data};
  return HV_CABI_OK;
}

/* result_type 0: the core results as values. */
static hv_cabi_status cabi_lift_core(const hvw_value *results, uint32_t count, hv_cabi_result *out,
                                     char *detail, size_t detail_size) {
  if (count == 0) return HV_CABI_OK;
  hv_value *values = calloc(count, sizeof *values);
  if (!values) return cabi_fail(HV_CABI_HOST_MEMORY, detail, detail_size, "out of host memory");
  for (uint32_t k = 0; k < count; k++) values[k] = hv_value_from_wasm(results[k]);
  *out = (hv_cabi_result){.values = values, .count = count};
  return HV_CABI_OK;
}

hv_cabi_status hv_cabi_call(hvw_store *store, hvw_instance *instance, const char *name, size_t name_len,
                            const hv_value *args, size_t arg_count, hv_type result_type,
                            uint64_t max_result_bytes, hv_cabi_result *out, hvw_error *err, char *detail,
                            size_t detail_size) {
  hv_cabi_status st = HV_CABI_OK;
  hvw_error local_err;
  cabi_exports x = {0};
  hvw_value *flat = NULL, *results = NULL;
  int shown = name_len > 64 ? 64 : (int)name_len;

  if (!err) err = &local_err;
  *err = (hvw_error){.status = HVW_OK, .trap = HVW_TRAP_NONE};
  *out = (hv_cabi_result){0};
  if (detail && detail_size > 0) detail[0] = '\0';
  if (arg_count > 0 && args == NULL) {
    st = cabi_fail(HV_CABI_SIGNATURE_MISMATCH, detail, detail_size, "no arguments given");
    goto done;
  }

  st = cabi_prepare(instance, name, name_len, args, arg_count, result_type, &x, err, detail, detail_size);
  if (st != HV_CABI_OK) goto done;

  /* Both counts come from a validated module (at most the engine's parameter and result limits). */
  flat = calloc(x.type.param_count ? x.type.param_count : 1, sizeof *flat);
  results = calloc(x.type.result_count ? x.type.result_count : 1, sizeof *results);
  if (!flat || !results) {
    st = cabi_fail(HV_CABI_HOST_MEMORY, detail, detail_size, "out of host memory");
    goto done;
  }

  uint32_t p = 0; /* cabi_prepare checked that the flattened arguments are exactly the parameters */
  for (size_t k = 0; k < arg_count; k++) {
    if (hv_type_is_numeric(args[k].type)) {
      flat[p++] = args[k].num;
      continue;
    }
    st = cabi_lower_blob(store, &x, &args[k], k, flat + p, err, detail, detail_size);
    if (st != HV_CABI_OK) goto done;
    p += 2;
  }

  hvw_status ws = hvw_func_call(store, x.func, flat, x.type.param_count, results, x.type.result_count, err);
  if (ws != HVW_OK) {
    char what[96];
    snprintf(what, sizeof what, "the export '%.*s'", shown, name);
    st = cabi_engine_fail(err, ws, what, detail, detail_size);
    goto done;
  }

  if (!cabi_is_blob(result_type)) {
    st = cabi_lift_core(results, x.type.result_count, out, detail, detail_size);
    goto done;
  }
  uint32_t retptr = (uint32_t)results[0].of.i32;
  st = cabi_lift_blob(&x, retptr, result_type, max_result_bytes, out, detail, detail_size);
  if (st != HV_CABI_OK || !x.post) goto done;

  hvw_value post_arg = cabi_i32(retptr);
  ws = hvw_func_call(store, x.post, &post_arg, 1, NULL, 0, err);
  if (ws != HVW_OK) {
    hv_cabi_result_free(out);
    st = cabi_engine_fail(err, ws, x.post_name, detail, detail_size);
  }

done:
  if (st != HV_CABI_ENGINE) *err = (hvw_error){.status = HVW_OK, .trap = HVW_TRAP_NONE};
  if (st != HV_CABI_OK) hv_cabi_result_free(out);
  free(flat);
  free(results);
  free(x.post_name);
  return st;
}

void hv_cabi_result_free(hv_cabi_result *result) {
  if (!result) return;
  free(result->values);
  free(result->data);
  *result = (hv_cabi_result){0};
}
