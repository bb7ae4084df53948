/*
 * wk_codec.c: the worker channel's messages (wk_codec.h). A growable writer that stops at the
 * first failure, and a reader whose every take is bounded by what is left of the payload.
 */
#include "wk_codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_cabi.h" /* hv_cabi_utf8_valid */

const char *wk_status_text(wk_status status) {
  switch (status) {
#define WK__TEXT(name, text) \
  case name:                 \
    return text;
    WK_STATUS_MAP(WK__TEXT)
#undef WK__TEXT
  }
  return "unknown status";
}

void wk_wipe_free(void *p, size_t len) {
  if (!p) return;
  explicit_bzero(p, len);
  free(p);
}

__attribute__((format(printf, 4, 5))) static wk_status wk_fail(wk_status st, char *why,
                                                                size_t why_size, const char *fmt,
                                                                ...) {
  if (why && why_size) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
  }
  return st;
}

/* ---- Writing ------------------------------------------------------------------------------ */

typedef struct wk_writer {
  uint8_t *p;
  size_t len, cap;
  uint64_t limit;  /* the most frame bytes allowed (header included) */
  wk_status st;    /* the first failure; later puts do nothing */
} wk_writer;

static void wk_reserve(wk_writer *w, uint64_t more) {
  if (w->st != WK_OK) return;
  if (more > w->limit - w->len) {
    w->st = WK_TOO_LARGE;
    return;
  }
  if (w->len + more <= w->cap) return;
  size_t cap = w->cap ? w->cap : 256;
  while (cap < w->len + more) cap = cap > SIZE_MAX / 2 ? w->len + (size_t)more : cap * 2;
  uint8_t *p = malloc(cap);
  if (!p) {
    w->st = WK_NO_MEMORY;
    return;
  }
  /* Copied and wiped rather than realloc'd: the old block may hold the client's data. */
  if (w->p) {
    memcpy(p, w->p, w->len);
    explicit_bzero(w->p, w->cap);
    free(w->p);
  }
  w->p = p;
  w->cap = cap;
}

static void wk_put(wk_writer *w, const void *data, size_t n) {
  wk_reserve(w, n);
  if (w->st != WK_OK || n == 0) return;
  memcpy(w->p + w->len, data, n);
  w->len += n;
}

static void wk_put_u8(wk_writer *w, uint8_t v) { wk_put(w, &v, 1); }

static void wk_put_u32(wk_writer *w, uint32_t v) {
  uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  wk_put(w, b, 4);
}

static void wk_put_u64(wk_writer *w, uint64_t v) {
  wk_put_u32(w, (uint32_t)v);
  wk_put_u32(w, (uint32_t)(v >> 32));
}

/* u64 length, then the bytes. */
static void wk_put_bytes(wk_writer *w, const uint8_t *data, size_t n) {
  wk_put_u64(w, n);
  wk_put(w, data, n);
}

/* u32 length, the bytes, a NUL (so the reader can point at them as a C string). */
static void wk_put_cstr(wk_writer *w, const char *s, size_t n) {
  if (n > UINT32_MAX || memchr(s, 0, n)) {
    if (w->st == WK_OK) w->st = WK_BAD_VALUE;
    return;
  }
  wk_put_u32(w, (uint32_t)n);
  wk_put(w, s, n);
  wk_put_u8(w, 0);
}

static void wk_begin(wk_writer *w, wk_kind kind, uint64_t limit) {
  *w = (wk_writer){.limit = limit + WK_FRAME_HEADER};
  wk_reserve(w, WK_FRAME_HEADER);
  if (w->st == WK_OK) w->len = WK_FRAME_HEADER; /* the length, written by wk_end */
  wk_put_u32(w, WK_MAGIC);
  wk_put_u8(w, (uint8_t)kind);
}

static wk_status wk_end(wk_writer *w, uint8_t **frame, size_t *frame_len) {
  *frame = NULL;
  *frame_len = 0;
  if (w->st != WK_OK) {
    wk_wipe_free(w->p, w->cap);
    return w->st;
  }
  uint32_t n = (uint32_t)(w->len - WK_FRAME_HEADER); /* fits: limit <= UINT32_MAX */
  w->p[0] = (uint8_t)n;
  w->p[1] = (uint8_t)(n >> 8);
  w->p[2] = (uint8_t)(n >> 16);
  w->p[3] = (uint8_t)(n >> 24);
  *frame = w->p;
  *frame_len = w->len;
  return WK_OK;
}

/* ---- Reading ------------------------------------------------------------------------------ */

typedef struct wk_reader {
  const uint8_t *p;
  size_t len, pos;
  wk_status st;
  const char *what; /* the field being read when st went wrong */
} wk_reader;

static bool wk_take(wk_reader *r, size_t n, const uint8_t **out, const char *what) {
  if (r->st != WK_OK) return false;
  if (n > r->len - r->pos) {
    r->st = WK_TRUNCATED;
    r->what = what;
    return false;
  }
  *out = r->p + r->pos;
  r->pos += n;
  return true;
}

static uint8_t wk_u8(wk_reader *r, const char *what) {
  const uint8_t *b;
  return wk_take(r, 1, &b, what) ? b[0] : 0;
}

static uint32_t wk_u32(wk_reader *r, const char *what) {
  const uint8_t *b;
  if (!wk_take(r, 4, &b, what)) return 0;
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t wk_u64(wk_reader *r, const char *what) {
  uint64_t lo = wk_u32(r, what);
  return lo | (uint64_t)wk_u32(r, what) << 32;
}

static void wk_bad(wk_reader *r, wk_status st, const char *what) {
  if (r->st != WK_OK) return;
  r->st = st;
  r->what = what;
}

/* A flag byte: 0 or 1. */
static bool wk_flag(wk_reader *r, const char *what) {
  uint8_t v = wk_u8(r, what);
  if (v > 1) wk_bad(r, WK_BAD_VALUE, what);
  return v == 1;
}

/* u64 length (at most `max`), then the bytes; *data is NULL for none. */
static size_t wk_bytes(wk_reader *r, uint64_t max, const uint8_t **data, const char *what) {
  *data = NULL;
  uint64_t n = wk_u64(r, what);
  if (r->st != WK_OK) return 0;
  if (n > max) {
    wk_bad(r, WK_TOO_LARGE, what);
    return 0;
  }
  if (n == 0) return 0;
  return wk_take(r, (size_t)n, data, what) ? (size_t)n : 0;
}

/* u32 length (at most `max`), the bytes with no NUL among them, then a NUL. */
static const char *wk_cstr(wk_reader *r, uint32_t max, size_t *len_out, const char *what) {
  uint32_t n = wk_u32(r, what);
  const uint8_t *b;
  if (r->st != WK_OK) return NULL;
  if (n > max) {
    wk_bad(r, WK_TOO_LARGE, what);
    return NULL;
  }
  if (!wk_take(r, (size_t)n + 1, &b, what)) return NULL;
  if (b[n] != 0 || memchr(b, 0, n)) {
    wk_bad(r, WK_BAD_VALUE, what);
    return NULL;
  }
  if (len_out) *len_out = n;
  return (const char *)b;
}

static void wk_header(wk_reader *r, wk_kind kind) {
  if (wk_u32(r, "magic") != WK_MAGIC || wk_u8(r, "kind") != (uint8_t)kind)
    wk_bad(r, WK_BAD_HEADER, "header");
}

static wk_status wk_finish(wk_reader *r, char *why, size_t why_size) {
  if (r->st == WK_OK && r->pos != r->len) wk_bad(r, WK_TRAILING, "end");
  if (r->st != WK_OK)
    return wk_fail(r->st, why, why_size, "%s (%s, at byte %zu of %zu)", wk_status_text(r->st),
                   r->what ? r->what : "?", r->pos, r->len);
  return WK_OK;
}

uint32_t wk_frame_length(const uint8_t header[WK_FRAME_HEADER]) {
  return (uint32_t)header[0] | (uint32_t)header[1] << 8 | (uint32_t)header[2] << 16 |
         (uint32_t)header[3] << 24;
}

/* ---- Hello -------------------------------------------------------------------------------- */

void wk_hello_encode(const wk_hello *hello, uint8_t buf[WK_FRAME_HEADER + WK_HELLO_PAYLOAD]) {
  uint8_t *p = buf;
  const uint32_t words[] = {WK_HELLO_PAYLOAD, WK_MAGIC};
  for (size_t k = 0; k < 2; k++)
    for (int b = 0; b < 4; b++) *p++ = (uint8_t)(words[k] >> (8 * b));
  *p++ = WK_KIND_HELLO;
  const uint32_t fields[] = {hello->version, hello->ns_flags, (uint32_t)hello->ns_errno,
                             (uint32_t)hello->pid, hello->reserved};
  for (size_t k = 0; k < 5; k++)
    for (int b = 0; b < 4; b++) *p++ = (uint8_t)(fields[k] >> (8 * b));
}

wk_status wk_hello_decode(const uint8_t *payload, size_t len, wk_hello *out, char *why,
                          size_t why_size) {
  wk_reader r = {.p = payload, .len = len};
  wk_header(&r, WK_KIND_HELLO);
  out->version = wk_u32(&r, "version");
  out->ns_flags = wk_u32(&r, "ns_flags");
  out->ns_errno = (int32_t)wk_u32(&r, "ns_errno");
  out->pid = (int32_t)wk_u32(&r, "pid");
  out->reserved = wk_u32(&r, "reserved");
  if (out->version != WK_VERSION) wk_bad(&r, WK_BAD_VALUE, "version");
  if (out->ns_flags & ~(WK_NS_USER | WK_NS_NET | WK_NS_MOUNT)) wk_bad(&r, WK_BAD_VALUE, "ns_flags");
  if (out->ns_errno < 0 || out->ns_errno > 4095) wk_bad(&r, WK_BAD_VALUE, "ns_errno");
  if (out->pid <= 0) wk_bad(&r, WK_BAD_VALUE, "pid");
  if (out->reserved != 0) wk_bad(&r, WK_BAD_VALUE, "reserved");
  return wk_finish(&r, why, why_size);
}

/* ---- Jobs --------------------------------------------------------------------------------- */

wk_status wk_job_encode(const exec_job *job, uint64_t remaining_ns, uint8_t **frame,
                        size_t *frame_len, char *why, size_t why_size) {
  wk_writer w;
  size_t name_len = strlen(job->function_name);
  if (name_len == 0 || name_len > WK_NAME_MAX || job->arg_count > WK_VALUES_MAX ||
      (job->results && job->result_count > WK_VALUES_MAX) ||
      (job->wasi_input && job->wasi_input->argc >= WK_VALUES_MAX))
    return wk_fail(WK_BAD_VALUE, why, why_size, "the job exceeds the channel's limits");
  wk_begin(&w, WK_KIND_JOB, WK_JOB_PAYLOAD_MAX);
  wk_put_u8(&w, (uint8_t)job->wasi);
  wk_put_u64(&w, job->max_result_bytes);
  wk_put_u64(&w, job->limits.gas_limit);
  wk_put_u32(&w, job->limits.max_memory_pages);
  wk_put_u64(&w, job->limits.timeout_ns);
  wk_put_u64(&w, remaining_ns);
  wk_put_u8(&w, job->cache_key != NULL);
  if (job->cache_key) wk_put(&w, job->cache_key, 32);
  wk_put_cstr(&w, job->function_name, name_len);
  wk_put_u32(&w, (uint32_t)job->arg_count);
  for (size_t k = 0; k < job->arg_count; k++) {
    const exec_arg *a = &job->args[k];
    wk_put_u8(&w, (uint8_t)a->kind);
    wk_put_u8(&w, a->declared);
    switch (a->kind) {
      case EXEC_ARG_INT:
        wk_put_u64(&w, (uint64_t)a->i);
        break;
      case EXEC_ARG_REAL: {
        uint64_t bits;
        memcpy(&bits, &a->d, sizeof bits);
        wk_put_u64(&w, bits);
        break;
      }
      case EXEC_ARG_TEXT:
        wk_put_cstr(&w, a->text, strlen(a->text));
        break;
      case EXEC_ARG_BLOB:
        wk_put_bytes(&w, a->data, a->len);
        break;
      default:
        if (w.st == WK_OK) w.st = WK_BAD_VALUE;
    }
  }
  wk_put_u8(&w, job->results != NULL);
  if (job->results) {
    wk_put_u32(&w, (uint32_t)job->result_count);
    wk_put(&w, job->results, job->result_count);
  }
  const exec_wasi_input *in = job->wasi_input;
  wk_put_u8(&w, in != NULL);
  if (in) {
    wk_put_u8(&w, in->given);
    wk_put_u32(&w, (uint32_t)in->argc);
    for (size_t k = 0; k < in->argc; k++) wk_put_cstr(&w, in->argv[k], strlen(in->argv[k]));
    wk_put_bytes(&w, in->stdin_data, in->stdin_len);
  }
  wk_put_bytes(&w, job->wasm, job->wasm_len);
  wk_status st = wk_end(&w, frame, frame_len);
  if (st != WK_OK) return wk_fail(st, why, why_size, "cannot encode the job: %s", wk_status_text(st));
  return WK_OK;
}

void wk_job_free(wk_job *job) {
  if (!job) return;
  free(job->args);
  free(job->results);
  free(job->argv);
  free(job);
}

static bool wk_declared_ok(hv_type t) { return t == 0 || hv_type_is_valid(t); }

wk_status wk_job_decode(const uint8_t *payload, size_t len, wk_job **out, char *why,
                        size_t why_size) {
  *out = NULL;
  if (len > WK_JOB_PAYLOAD_MAX)
    return wk_fail(WK_TOO_LARGE, why, why_size, "a job of %zu bytes is too large", len);
  wk_job *j = calloc(1, sizeof *j);
  if (!j) return wk_fail(WK_NO_MEMORY, why, why_size, "out of memory");
  wk_reader r = {.p = payload, .len = len};
  exec_job *job = &j->job;
  wk_header(&r, WK_KIND_JOB);
  uint8_t wasi = wk_u8(&r, "wasi");
  if (wasi > EXEC_WASI_STDIO) wk_bad(&r, WK_BAD_VALUE, "wasi");
  job->wasi = (exec_wasi_mode)wasi;
  job->max_result_bytes = wk_u64(&r, "max_result_bytes");
  job->limits.gas_limit = wk_u64(&r, "gas_limit");
  job->limits.max_memory_pages = wk_u32(&r, "max_memory_pages");
  job->limits.timeout_ns = wk_u64(&r, "timeout_ns");
  j->remaining_ns = wk_u64(&r, "remaining_ns");
  if (job->limits.max_memory_pages > 65536) wk_bad(&r, WK_BAD_VALUE, "max_memory_pages");
  if (wk_flag(&r, "cache_key")) {
    const uint8_t *key;
    if (wk_take(&r, 32, &key, "cache_key")) {
      memcpy(j->cache_key, key, 32);
      job->cache_key = j->cache_key;
    }
  }
  size_t name_len = 0;
  job->function_name = wk_cstr(&r, WK_NAME_MAX, &name_len, "function_name");
  if (r.st == WK_OK && name_len == 0) wk_bad(&r, WK_BAD_VALUE, "function_name");

  uint32_t nargs = wk_u32(&r, "arg_count");
  if (nargs > WK_VALUES_MAX) wk_bad(&r, WK_TOO_LARGE, "arg_count");
  if (r.st == WK_OK && nargs) {
    j->args = calloc(nargs, sizeof *j->args);
    if (!j->args) wk_bad(&r, WK_NO_MEMORY, "arguments");
  }
  for (uint32_t k = 0; r.st == WK_OK && k < nargs; k++) {
    exec_arg *a = &j->args[k];
    uint8_t kind = wk_u8(&r, "argument kind");
    a->declared = wk_u8(&r, "argument type");
    if (!wk_declared_ok(a->declared)) wk_bad(&r, WK_BAD_VALUE, "argument type");
    switch (kind) {
      case EXEC_ARG_INT:
        a->i = (int64_t)wk_u64(&r, "argument");
        break;
      case EXEC_ARG_REAL: {
        uint64_t bits = wk_u64(&r, "argument");
        memcpy(&a->d, &bits, sizeof a->d);
        break;
      }
      case EXEC_ARG_TEXT:
        a->text = wk_cstr(&r, WK_JOB_PAYLOAD_MAX, NULL, "argument text");
        break;
      case EXEC_ARG_BLOB:
        if (a->declared != HV_TYPE_STRING && a->declared != HV_TYPE_BYTES)
          wk_bad(&r, WK_BAD_VALUE, "argument type");
        a->len = wk_bytes(&r, WK_JOB_PAYLOAD_MAX, &a->data, "argument bytes");
        break;
      default:
        wk_bad(&r, WK_BAD_VALUE, "argument kind");
    }
    a->kind = (exec_arg_kind)kind;
  }
  job->args = j->args;
  job->arg_count = r.st == WK_OK ? nargs : 0;

  if (wk_flag(&r, "results")) {
    uint32_t n = wk_u32(&r, "result_count");
    const uint8_t *types = NULL;
    if (n > WK_VALUES_MAX) wk_bad(&r, WK_TOO_LARGE, "result_count");
    if (wk_take(&r, n, &types, "results")) {
      j->results = malloc(n ? n : 1);
      if (!j->results) wk_bad(&r, WK_NO_MEMORY, "results");
      for (uint32_t k = 0; r.st == WK_OK && k < n; k++) {
        if (!hv_type_is_valid(types[k])) wk_bad(&r, WK_BAD_VALUE, "result type");
        j->results[k] = types[k];
      }
      /* A string or bytes result stands alone (protocol v1.1). */
      for (uint32_t k = 0; r.st == WK_OK && n > 1 && k < n; k++)
        if (!hv_type_is_numeric(types[k])) wk_bad(&r, WK_BAD_VALUE, "result type");
      job->results = j->results;
      job->result_count = n;
    }
  }

  if (wk_flag(&r, "wasi_input")) {
    exec_wasi_input *in = &j->wasi_input;
    in->given = wk_flag(&r, "given");
    uint32_t argc = wk_u32(&r, "argc");
    if (argc >= WK_VALUES_MAX) wk_bad(&r, WK_TOO_LARGE, "argc");
    if (r.st == WK_OK && argc) {
      j->argv = calloc(argc, sizeof *j->argv);
      if (!j->argv) wk_bad(&r, WK_NO_MEMORY, "argv");
    }
    for (uint32_t k = 0; r.st == WK_OK && k < argc; k++)
      j->argv[k] = wk_cstr(&r, WK_JOB_PAYLOAD_MAX, NULL, "argv");
    in->argv = argc ? j->argv : NULL;
    in->argc = r.st == WK_OK ? argc : 0;
    in->stdin_len = wk_bytes(&r, WK_JOB_PAYLOAD_MAX, &in->stdin_data, "stdin");
    job->wasi_input = in;
  }
  job->wasm_len = wk_bytes(&r, WK_JOB_PAYLOAD_MAX, &job->wasm, "wasm");
  wk_status st = wk_finish(&r, why, why_size);
  if (st != WK_OK) {
    wk_job_free(j);
    return st;
  }
  *out = j;
  return WK_OK;
}

/* ---- Outcomes ----------------------------------------------------------------------------- */

/* A numeric value as 64 bits. */
static uint64_t wk_num_bits(const hvw_value *v) {
  switch (v->type) {
    case HVW_TYPE_I32:
      return (uint32_t)v->of.i32;
    case HVW_TYPE_F32:
      return v->of.f32_bits;
    case HVW_TYPE_I64:
      return (uint64_t)v->of.i64;
    default:
      return v->of.f64_bits;
  }
}

static hvw_value wk_num_value(hv_type type, uint64_t bits) {
  hvw_value v = {.type = type};
  switch (type) {
    case HVW_TYPE_I32:
      v.of.i32 = (int32_t)(uint32_t)bits;
      break;
    case HVW_TYPE_F32:
      v.of.f32_bits = (uint32_t)bits;
      break;
    case HVW_TYPE_I64:
      v.of.i64 = (int64_t)bits;
      break;
    default:
      v.of.f64_bits = bits;
  }
  return v;
}

/* A value: its type, then 64 bits for a number; a string or bytes value's bytes go only with
 * results (`with_data`): an argument's are the job's. */
static void wk_put_value(wk_writer *w, const hv_value *v, bool with_data) {
  wk_put_u8(w, v->type);
  if (hv_type_is_numeric(v->type))
    wk_put_u64(w, wk_num_bits(&v->num));
  else if (with_data)
    wk_put_bytes(w, v->data, v->len);
}

static void wk_put_msg(wk_writer *w, const char *s) {
  size_t n = strnlen(s, EXEC_MESSAGE_MAX - 1);
  wk_put_u32(w, (uint32_t)n);
  wk_put(w, s, n);
}

wk_status wk_outcome_encode(const exec_outcome *o, const wk_cache_stats *stats, uint8_t **frame,
                            size_t *frame_len, char *why, size_t why_size) {
  static const wk_cache_stats none = {0};
  if (!stats) stats = &none;
  wk_writer w;
  wk_begin(&w, WK_KIND_OUTCOME, UINT32_MAX);
  wk_put_u8(&w, (uint8_t)o->code);
  wk_put_msg(&w, o->message);
  wk_put_msg(&w, o->detail);
  wk_put_u8(&w, o->ran);
  wk_put_u8(&w, o->module_cached);
  wk_put_u8(&w, o->wasi);
  wk_put_u64(&w, o->compile_ns);
  wk_put_u64(&w, o->exec_ns);
  wk_put_u64(&w, o->gas_used);
  wk_put_u64(&w, o->memory_peak_bytes);
  const uint64_t figures[] = {stats->entries, stats->bytes,  stats->max_bytes,
                              stats->hits,    stats->misses, stats->evictions};
  for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) wk_put_u64(&w, figures[k]);
  size_t nargs = o->args ? o->arg_count : 0;
  wk_put_u32(&w, (uint32_t)nargs);
  for (size_t k = 0; k < nargs; k++) wk_put_value(&w, &o->args[k], false);
  size_t nres = o->results ? o->result_count : 0;
  wk_put_u32(&w, (uint32_t)nres);
  for (size_t k = 0; k < nres; k++) wk_put_value(&w, &o->results[k], true);
  if (o->wasi) {
    wk_put_u32(&w, o->exit_code);
    wk_put_bytes(&w, o->stdout_data, o->stdout_len);
    wk_put_bytes(&w, o->stderr_data, o->stderr_len);
  }
  wk_status st = wk_end(&w, frame, frame_len);
  if (st != WK_OK)
    return wk_fail(st, why, why_size, "cannot encode the outcome: %s", wk_status_text(st));
  return WK_OK;
}

uint64_t wk_outcome_payload_max(const exec_job *job) {
  uint64_t cap = job->max_result_bytes < WK_JOB_PAYLOAD_MAX ? job->max_result_bytes
                                                            : WK_JOB_PAYLOAD_MAX;
  /* header, code, two messages, flags, figures, values, a string result or stdout + stderr */
  uint64_t n = 4096 + 2 * EXEC_MESSAGE_MAX + 2 * (uint64_t)(WK_VALUES_MAX + 1) * 9 + 2 * (cap + 8);
  return n > UINT32_MAX ? UINT32_MAX : n;
}

/* Only the codes an execution can end with (executor.c). */
static bool wk_code_ok(uint8_t code) {
  switch (code) {
    case OUTCOME_OK:
    case OUTCOME_INVALID_ARGUMENTS:
    case OUTCOME_INVALID_WASM:
    case OUTCOME_FUNCTION_NOT_FOUND:
    case OUTCOME_EXECUTION_TRAP:
    case OUTCOME_EXECUTION_TIMEOUT:
    case OUTCOME_GAS_EXHAUSTED:
    case OUTCOME_MEMORY_EXCEEDED:
    case OUTCOME_INTERNAL_ERROR:
      return true;
    default:
      return false;
  }
}

/* A message: UTF-8, one line, no NUL, shorter than EXEC_MESSAGE_MAX. */
static void wk_msg(wk_reader *r, char dst[EXEC_MESSAGE_MAX], const char *what) {
  uint32_t n = wk_u32(r, what);
  const uint8_t *b;
  if (r->st != WK_OK) return;
  if (n >= EXEC_MESSAGE_MAX) {
    wk_bad(r, WK_TOO_LARGE, what);
    return;
  }
  if (!wk_take(r, n, &b, what)) return;
  if (memchr(b, 0, n) || memchr(b, '\n', n) || memchr(b, '\r', n) || !hv_cabi_utf8_valid(b, n)) {
    wk_bad(r, WK_BAD_VALUE, what);
    return;
  }
  memcpy(dst, b, n);
  dst[n] = '\0';
}

/* The arguments of the outcome: numbers from the worker, string and bytes values from the job. */
static void wk_outcome_args(wk_reader *r, const exec_job *job, exec_outcome *o, bool wasi) {
  uint32_t n = wk_u32(r, "arg_count");
  if (r->st != WK_OK || n == 0) return;
  const exec_wasi_input *in = job->wasi_input;
  /* An execution reports either no arguments (it failed before converting them) or all of them:
   * the job's, or a command's argv and stdin (a command takes no arguments of the other kind;
   * one that failed after taking its argv reports them without being a command's success). */
  bool command = job->wasi == EXEC_WASI_STDIO && in && job->arg_count == 0 && n == in->argc + 1;
  if (wasi ? !command : (n != job->arg_count && !command)) {
    wk_bad(r, WK_MISMATCH, "arg_count");
    return;
  }
  o->args = calloc(n, sizeof *o->args);
  if (!o->args) {
    wk_bad(r, WK_NO_MEMORY, "arguments");
    return;
  }
  for (uint32_t k = 0; r->st == WK_OK && k < n; k++) {
    hv_type t = wk_u8(r, "argument type");
    if (command) {
      bool is_stdin = k == in->argc;
      if (t != (is_stdin ? HV_TYPE_BYTES : HV_TYPE_STRING)) {
        wk_bad(r, WK_MISMATCH, "argument type");
        break;
      }
      o->args[k] = is_stdin ? hv_value_blob(t, in->stdin_data, in->stdin_len)
                            : hv_value_blob(t, (const uint8_t *)in->argv[k], strlen(in->argv[k]));
      continue;
    }
    const exec_arg *a = &job->args[k];
    if (a->kind == EXEC_ARG_BLOB) {
      if (t != a->declared) {
        wk_bad(r, WK_MISMATCH, "argument type");
        break;
      }
      o->args[k] = hv_value_blob(t, a->data, a->len);
    } else {
      /* A number converted to the parameter's type, which only the worker knows; the declared
       * one when the request gave it. */
      if (!hv_type_is_numeric(t) || (a->declared && a->declared != t)) {
        wk_bad(r, WK_MISMATCH, "argument type");
        break;
      }
      o->args[k] = hv_value_from_wasm(wk_num_value(t, wk_u64(r, "argument")));
    }
  }
  if (r->st == WK_OK) o->arg_count = n;
}

/* The results of a successful call, as the job declared them. */
static void wk_outcome_results(wk_reader *r, const exec_job *job, exec_outcome *o) {
  uint32_t n = wk_u32(r, "result_count");
  if (r->st != WK_OK) return;
  if (n > WK_VALUES_MAX) {
    wk_bad(r, WK_TOO_LARGE, "result_count");
    return;
  }
  bool lifted = job->results && job->result_count == 1 && !hv_type_is_numeric(job->results[0]);
  if (job->results && n != job->result_count) {
    wk_bad(r, WK_MISMATCH, "result_count");
    return;
  }
  if (n == 0) return;
  o->results = calloc(n, sizeof *o->results);
  if (!o->results) {
    wk_bad(r, WK_NO_MEMORY, "results");
    return;
  }
  for (uint32_t k = 0; r->st == WK_OK && k < n; k++) {
    hv_type t = wk_u8(r, "result type");
    if ((job->results && t != job->results[k]) || (!job->results && !hv_type_is_numeric(t))) {
      wk_bad(r, WK_MISMATCH, "result type");
      break;
    }
    if (!lifted) {
      o->results[k] = hv_value_from_wasm(wk_num_value(t, wk_u64(r, "result")));
      continue;
    }
    const uint8_t *data;
    size_t len = wk_bytes(r, job->max_result_bytes, &data, "result bytes");
    if (r->st != WK_OK) break;
    if (t == HV_TYPE_STRING && !hv_cabi_utf8_valid(data, len)) {
      wk_bad(r, WK_BAD_VALUE, "result string");
      break;
    }
    o->result_data = malloc(len ? len : 1);
    if (!o->result_data) {
      wk_bad(r, WK_NO_MEMORY, "result bytes");
      break;
    }
    if (len) memcpy(o->result_data, data, len);
    o->results[k] = hv_value_blob(t, o->result_data, len);
  }
  if (r->st == WK_OK) o->result_count = n;
}

/* A copy of a command's output (NULL when empty). */
static uint8_t *wk_output(wk_reader *r, uint64_t max, size_t *len, const char *what) {
  const uint8_t *data;
  *len = wk_bytes(r, max, &data, what);
  if (r->st != WK_OK || *len == 0) {
    *len = 0;
    return NULL;
  }
  uint8_t *copy = malloc(*len);
  if (!copy) {
    wk_bad(r, WK_NO_MEMORY, what);
    *len = 0;
    return NULL;
  }
  memcpy(copy, data, *len);
  return copy;
}

wk_status wk_outcome_decode(const uint8_t *payload, size_t len, const exec_job *job,
                            exec_outcome **out, wk_cache_stats *stats, char *why,
                            size_t why_size) {
  *out = NULL;
  wk_cache_stats figures = {0};
  if (len > wk_outcome_payload_max(job))
    return wk_fail(WK_TOO_LARGE, why, why_size, "an outcome of %zu bytes is too large", len);
  exec_outcome *o = calloc(1, sizeof *o);
  if (!o) return wk_fail(WK_NO_MEMORY, why, why_size, "out of memory");
  wk_reader r = {.p = payload, .len = len};
  wk_header(&r, WK_KIND_OUTCOME);
  uint8_t code = wk_u8(&r, "code");
  if (r.st == WK_OK && !wk_code_ok(code)) wk_bad(&r, WK_BAD_VALUE, "code");
  o->code = (outcome_code)code;
  wk_msg(&r, o->message, "message");
  wk_msg(&r, o->detail, "detail");
  /* An error always says what went wrong; a success says nothing. */
  if (r.st == WK_OK && (o->code == OUTCOME_OK) != (o->message[0] == '\0'))
    wk_bad(&r, WK_BAD_VALUE, "message");
  o->ran = wk_flag(&r, "ran");
  o->module_cached = wk_flag(&r, "module_cached");
  o->wasi = wk_flag(&r, "wasi");
  o->compile_ns = wk_u64(&r, "compile_ns");
  o->exec_ns = wk_u64(&r, "exec_ns");
  o->gas_used = wk_u64(&r, "gas_used");
  o->memory_peak_bytes = wk_u64(&r, "memory_peak_bytes");
  if (o->memory_peak_bytes > (uint64_t)job->limits.max_memory_pages * HVW_PAGE_SIZE)
    wk_bad(&r, WK_MISMATCH, "memory_peak_bytes");
  /* A job without a cache key is never looked up (exec_run_now). */
  if (o->module_cached && !job->cache_key) wk_bad(&r, WK_MISMATCH, "module_cached");
  figures.entries = wk_u64(&r, "cache_entries");
  figures.bytes = wk_u64(&r, "cache_bytes");
  figures.max_bytes = wk_u64(&r, "cache_max_bytes");
  figures.hits = wk_u64(&r, "cache_hits");
  figures.misses = wk_u64(&r, "cache_misses");
  figures.evictions = wk_u64(&r, "cache_evictions");
  if (r.st == WK_OK && o->wasi &&
      (job->wasi != EXEC_WASI_STDIO || !job->wasi_input || o->code != OUTCOME_OK))
    wk_bad(&r, WK_MISMATCH, "wasi");
  wk_outcome_args(&r, job, o, o->wasi);
  if (o->code != OUTCOME_OK || o->wasi) {
    /* A failure and a command return no results. */
    if (wk_u32(&r, "result_count") != 0) wk_bad(&r, WK_MISMATCH, "result_count");
  } else {
    wk_outcome_results(&r, job, o);
  }
  if (o->wasi) {
    o->exit_code = wk_u32(&r, "exit_code");
    o->stdout_data = wk_output(&r, job->max_result_bytes, &o->stdout_len, "stdout");
    o->stderr_data = wk_output(&r, job->max_result_bytes, &o->stderr_len, "stderr");
  }
  wk_status st = wk_finish(&r, why, why_size);
  if (st != WK_OK) {
    exec_outcome_free(o);
    return st;
  }
  *out = o;
  if (stats) *stats = figures;
  return WK_OK;
}
