/*
 * fuzz_cabi.c: the Canonical ABI layer (hv_cabi_call, include/hv_cabi.h) against a guest that
 * lies as the input tells it to.
 *
 * The guest (fuzz_cabi.wat, compiled in as fuzz_cabi_wasm.h at build time) follows a script of
 * 64 words the harness writes into memory[0 .. 256): its cabi_realloc allocates honestly, returns
 * raw or near-the-end pointers, grows the memory, traps or spins; its exports return raw or
 * aligned retptrs and may echo their first (ptr, len) there; its cabi_post_<name> traps at times.
 * The rest of the first page is filled from the input, so the (ptr, len) at a retptr are often
 * arbitrary. The call itself (export, declared argument types and values, string and bytes
 * arguments, result type, max_result_bytes, an interrupt raised beforehand) comes from the input.
 *
 * Input: [export] [result type] [flags] [max_result_bytes u16] then per argument [type] and its
 * value (numeric: 8 bytes; string or bytes: a u16 length, bit 15 making it 64 KiB larger, then
 * that many bytes, a pattern once the input runs out), then the script (256 bytes) and the fill.
 *
 * Checks (ASan and UBSan catch any over-read or overflow): the status is one of the table's; a
 * failure leaves *out zeroed, a terminated detail, err->status set exactly for HV_CABI_ENGINE;
 * hv_cabi_check's refusal of the shape means the call is refused the same way; a string argument
 * that is not UTF-8 (by this file's own decoder) is refused; a success returns as many values as
 * the export's results, or one string or bytes value of at most max_result_bytes whose bytes are
 * exactly what the memory holds at the (ptr, len) found at the guest's retptr, a string being
 * valid UTF-8, cabi_post_<name> called exactly once with that retptr; an echoed single argument
 * comes back as the bytes that were passed.
 *
 * HV_FUZZ_CABI_VERBOSE=1 prints each call's status and detail on stderr (to see what a seed does).
 */
#include <string.h>

#include "fuzz_cabi_wasm.h"
#include "fuzz_util.h"
#include "hv_cabi.h"

#define CABI_MAX_ARGS 5
#define CABI_GAS 100000
#define CABI_MAX_PAGES 4
#define CABI_SCRIPT 256

static hvw_module *guest;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hvw_error err;
  guest = hvw_module_load(fuzz_cabi_wasm, sizeof fuzz_cabi_wasm, &err);
  FUZZ_CHECK(guest != NULL, "the guest does not load: %s", err.message);
  return 0;
}

/* RFC 3629 UTF-8, written apart from hv_cabi_utf8_valid on purpose: by code points. */
static bool ref_utf8_valid(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n;) {
    uint8_t c = s[i];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || n - i < len) return false;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3Fu);
    }
    static const uint32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

static hvw_value guest_global(hvw_instance *inst, const char *name) {
  hvw_extern ext;
  FUZZ_CHECK(hvw_instance_export(inst, name, strlen(name), &ext) && ext.kind == HVW_EXTERN_GLOBAL,
             "no global %s", name);
  return hvw_global_get(ext.of.global);
}

static uint32_t load_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const hv_type arg_types[] = {HVW_TYPE_I32, HVW_TYPE_I64, HVW_TYPE_F32, HVW_TYPE_F64,
                                    HV_TYPE_STRING, HV_TYPE_BYTES, HV_TYPE_STRING, HV_TYPE_BYTES,
                                    HVW_TYPE_FUNCREF};
static const hv_type result_types[] = {0, HV_TYPE_STRING, HV_TYPE_BYTES, 0, HV_TYPE_STRING, HV_TYPE_BYTES,
                                       HVW_TYPE_I32};
static const char *const exports[] = {"f0", "f1", "f2", "f3", "f4", "missing"};

/* After a successful call: what hv_cabi.h promises of the result. */
static void check_success(hvw_instance *inst, hvw_memory *memory, const char *name, hv_type result_type,
                          uint64_t max, const hv_value *args, size_t arg_count, const hv_cabi_result *out,
                          int32_t post_before) {
  hvw_extern ext;
  FUZZ_CHECK(hvw_instance_export(inst, name, strlen(name), &ext), "%s vanished", name);
  hvw_functype_view ft = hvw_func_type(ext.of.func);
  if (result_type == 0) {
    FUZZ_CHECK(out->count == ft.result_count, "%zu values for %u results", out->count, ft.result_count);
    FUZZ_CHECK(out->data == NULL, "data without a string or bytes result");
    for (size_t k = 0; k < out->count; k++)
      FUZZ_CHECK(out->values[k].type == ft.results[k] && out->values[k].num.type == ft.results[k],
                 "result %zu of the wrong type", k);
    return;
  }
  FUZZ_CHECK(out->count == 1 && out->values != NULL, "a %s result as %zu values", hv_type_name(result_type),
             out->count);
  const hv_value *v = &out->values[0];
  FUZZ_CHECK(v->type == result_type, "result type %u, declared %u", v->type, result_type);
  FUZZ_CHECK(v->data == out->data && out->data != NULL, "result data not the result's own");
  FUZZ_CHECK(v->len <= max, "%zu bytes over the limit %llu", v->len, (unsigned long long)max);

  /* The guest writes nothing after its export returns: the memory still holds what was lifted. */
  uint32_t retptr = (uint32_t)guest_global(inst, "last_retptr").of.i32;
  uint64_t size = hvw_memory_size_bytes(memory);
  const uint8_t *mem = hvw_memory_data(memory);
  FUZZ_CHECK(retptr % 4 == 0 && (uint64_t)retptr + 8 <= size, "lifted through a bad retptr %u", retptr);
  uint32_t ptr = load_u32(mem + retptr), len = load_u32(mem + retptr + 4);
  FUZZ_CHECK(len == v->len && (uint64_t)ptr + len <= size, "lifted (%u, %u) as %zu bytes", ptr, len, v->len);
  FUZZ_CHECK(len == 0 || memcmp(v->data, mem + ptr, len) == 0, "the result is not the memory's bytes");
  if (result_type == HV_TYPE_STRING) FUZZ_CHECK(ref_utf8_valid(v->data, v->len), "a string that is not UTF-8");

  bool has_post = strcmp(name, "f0") == 0 || strcmp(name, "f1") == 0;
  int32_t post_calls = guest_global(inst, "post_calls").of.i32;
  FUZZ_CHECK(post_calls == post_before + (has_post ? 1 : 0), "cabi_post called %d times",
             post_calls - post_before);
  if (has_post)
    FUZZ_CHECK((uint32_t)guest_global(inst, "post_arg").of.i32 == retptr, "cabi_post not given the retptr");

  /* f0 echoing its one argument: the bytes passed, unless the 8-byte echo landed on them. */
  if (strcmp(name, "f0") == 0 && arg_count == 1 && guest_global(inst, "echoed").of.i32 == 1) {
    bool overlap = (uint64_t)retptr < (uint64_t)ptr + len && (uint64_t)ptr < (uint64_t)retptr + 8;
    FUZZ_CHECK(len == args[0].len, "echoed %u bytes of %zu", len, args[0].len);
    if (!overlap) FUZZ_CHECK(len == 0 || memcmp(v->data, args[0].data, len) == 0, "the echo changed the bytes");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_cursor c = {data, size};
  uint64_t h = fuzz_hash(data, size);
  const char *name = exports[fuzz_u8(&c) % (sizeof exports / sizeof exports[0])];
  hv_type result_type = result_types[fuzz_u8(&c) % (sizeof result_types / sizeof result_types[0])];
  uint8_t flags = fuzz_u8(&c);
  size_t arg_count = (size_t)(flags & 7) % (CABI_MAX_ARGS + 1);
  bool interrupt = (flags & 0x08) != 0 && (flags & 0x30) == 0x30; /* 1 in 8 */
  uint64_t max = fuzz_u16(&c);
  if (flags & 0x40) max = (flags & 0x80) ? UINT64_MAX : max << 8;

  hv_value args[CABI_MAX_ARGS];
  uint8_t *owned[CABI_MAX_ARGS] = {0};
  hv_type types[CABI_MAX_ARGS];
  bool strings_valid = true;
  for (size_t k = 0; k < arg_count; k++) {
    uint8_t tb = fuzz_u8(&c);
    hv_type t = arg_types[(tb & 0x7F) % (sizeof arg_types / sizeof arg_types[0])];
    types[k] = t;
    if (t == HV_TYPE_STRING || t == HV_TYPE_BYTES) {
      size_t len = fuzz_u16(&c);
      if (len & 0x8000) len = (len & 0x7FFF) + 65536;
      owned[k] = malloc(len ? len : 1);
      FUZZ_CHECK(owned[k] != NULL, "out of memory");
      size_t got;
      const uint8_t *p = fuzz_bytes(&c, len, &got);
      if (got) memcpy(owned[k], p, got);
      for (size_t i = got; i < len; i++) owned[k][i] = (uint8_t)('a' + (h + i) % 26); /* ASCII: valid */
      if (t == HV_TYPE_STRING && !ref_utf8_valid(owned[k], len)) strings_valid = false;
      args[k] = hv_value_blob(t, owned[k], len);
    } else {
      uint64_t x = 0;
      for (int i = 0; i < 8; i++) x = x << 8 | fuzz_u8(&c);
      hvw_value v = {.type = t};
      switch (t) {
        case HVW_TYPE_I32: v.of.i32 = (int32_t)(uint32_t)x; break;
        case HVW_TYPE_I64: v.of.i64 = (int64_t)x; break;
        case HVW_TYPE_F32: v.of.f32_bits = (uint32_t)x; break;
        case HVW_TYPE_F64: v.of.f64_bits = x; break;
        default: v.of.funcref = NULL; break; /* not a protocol type: refused before it is used */
      }
      if (tb & 0x80) v.type = t == HVW_TYPE_I32 ? HVW_TYPE_I64 : HVW_TYPE_I32; /* a declared type that lies */
      args[k] = hv_value_from_wasm(v);
      args[k].type = t;
    }
  }

  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = CABI_GAS;
  limits.max_memory_pages = CABI_MAX_PAGES;
  hvw_error err;
  hvw_store *store = hvw_store_new(&limits, &err);
  FUZZ_CHECK(store != NULL, "no store: %s", err.message);
  hvw_instance *inst = hvw_instance_new(store, guest, NULL, 0, &err);
  FUZZ_CHECK(inst != NULL, "the guest does not instantiate: %s", err.message);
  hvw_extern ext;
  FUZZ_CHECK(hvw_instance_export(inst, "memory", 6, &ext) && ext.kind == HVW_EXTERN_MEMORY, "no memory");
  hvw_memory *memory = ext.of.memory;
  uint8_t *mem = hvw_memory_data(memory);
  size_t got;
  const uint8_t *script = fuzz_bytes(&c, CABI_SCRIPT, &got);
  memcpy(mem, script, got);
  const uint8_t *fill = fuzz_bytes(&c, HVW_PAGE_SIZE - CABI_SCRIPT, &got);
  memcpy(mem + CABI_SCRIPT, fill, got);
  if (interrupt) hvw_store_interrupt(store);

  /* What hv_cabi_check says of the shape, for an export that exists. */
  hv_cabi_status shape = HV_CABI_OK;
  hvw_functype_view ft;
  bool exists = hvw_module_find_func_export(guest, name, strlen(name), &ft);
  if (exists) shape = hv_cabi_check(&ft, types, arg_count, result_type, NULL, 0);

  int32_t post_before = guest_global(inst, "post_calls").of.i32;
  hv_cabi_result out;
  char detail[256];
  memset(&out, 0xA5, sizeof out);
  memset(&err, 0xA5, sizeof err);
  memset(detail, 0xA5, sizeof detail);
  hv_cabi_status st = hv_cabi_call(store, inst, name, strlen(name), args, arg_count, result_type, max, &out,
                                   &err, detail, sizeof detail);

  if (getenv("HV_FUZZ_CABI_VERBOSE"))
    fprintf(stderr, "  %s: %s %s%s%s\n", name, hv_cabi_status_name(st), detail[0] ? "(" : "",
            memchr(detail, '\0', sizeof detail) ? detail : "", detail[0] ? ")" : "");
  FUZZ_CHECK((unsigned)st <= HV_CABI_HOST_MEMORY, "status %d is not in the table", (int)st);
  FUZZ_CHECK(strcmp(hv_cabi_status_name(st), "HV_CABI_UNKNOWN_STATUS") != 0, "unnamed status %d", (int)st);
  FUZZ_CHECK(memchr(detail, '\0', sizeof detail) != NULL, "detail not terminated");
  FUZZ_CHECK(st != HV_CABI_HOST_MEMORY, "out of host memory for a small call: %s", detail);
  if (!exists) {
    FUZZ_CHECK(st == HV_CABI_ENGINE && err.status == HVW_NOT_FOUND, "a missing export gave %s",
               hv_cabi_status_name(st));
  } else if (shape != HV_CABI_OK) {
    FUZZ_CHECK(st == HV_CABI_SIGNATURE_MISMATCH, "hv_cabi_check refused the shape, the call gave %s",
               hv_cabi_status_name(st));
  } else if (!strings_valid) {
    FUZZ_CHECK(st == HV_CABI_SIGNATURE_MISMATCH, "a string that is not UTF-8 passed: %s",
               hv_cabi_status_name(st));
  }
  if (st == HV_CABI_OK) {
    FUZZ_CHECK(err.status == HVW_OK && detail[0] == '\0', "success with an error");
    check_success(inst, memory, name, result_type, max, args, arg_count, &out, post_before);
  } else {
    FUZZ_CHECK(out.values == NULL && out.count == 0 && out.data == NULL, "%s left a result",
               hv_cabi_status_name(st));
    FUZZ_CHECK(detail[0] != '\0', "%s without a detail", hv_cabi_status_name(st));
    FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL, "err.message not terminated");
    if (st == HV_CABI_ENGINE)
      FUZZ_CHECK(err.status == HVW_TRAP || err.status == HVW_TIMEOUT || err.status == HVW_GAS_EXHAUSTED ||
                     err.status == HVW_MEMORY_EXCEEDED || err.status == HVW_NOT_FOUND,
                 "engine status %s", hvw_status_name(err.status));
    else
      FUZZ_CHECK(err.status == HVW_OK, "%s with engine status %s", hv_cabi_status_name(st),
                 hvw_status_name(err.status));
    if (st == HV_CABI_BAD_UTF8) FUZZ_CHECK(result_type == HV_TYPE_STRING, "BAD_UTF8 for a non-string");
    if (st == HV_CABI_MISALIGNED || st == HV_CABI_RESULT_TOO_LARGE)
      FUZZ_CHECK(result_type == HV_TYPE_STRING || result_type == HV_TYPE_BYTES, "%s without a declared result",
                 hv_cabi_status_name(st));
    if (st == HV_CABI_NO_REALLOC)
      FUZZ_CHECK(false, "the guest exports cabi_realloc and memory, yet NO_REALLOC: %s", detail);
  }
  hv_cabi_result_free(&out);
  FUZZ_CHECK(out.values == NULL && out.data == NULL && out.count == 0, "result_free left something");

  hvw_store_free(store);
  for (size_t k = 0; k < arg_count; k++) free(owned[k]);
  return 0;
}
