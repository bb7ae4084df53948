/* srv_util.c: bounded buffers, the clock, UUIDs, JSON replies and error bodies. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "srv_int.h"

/* ---- Bounded buffer ----------------------------------------------------------------------- */

void srv_buf_init(srv_buf *b, size_t max) { *b = (srv_buf){.max = max}; }

bool srv_buf_reserve(srv_buf *b, size_t extra) {
  if (b->failed) return false;
  if (extra > b->max || b->len + 1 > b->max - extra) {
    b->failed = true;
    return false;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < need) cap = cap > b->max / 2 ? b->max : cap * 2;
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

bool srv_buf_append(srv_buf *b, const void *data, size_t len) {
  if (!srv_buf_reserve(b, len)) return false;
  if (len) memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return true;
}

bool srv_buf_printf(srv_buf *b, const char *fmt, ...) {
  if (b->failed) return false;
  /* Formatted straight into the free room when it fits (a reply whose size was reserved: one
   * pass, no copy); else into a small stack buffer; only longer text is formatted twice. */
  char small[512];
  bool in_place = b->cap - b->len > sizeof small;
  char *to = in_place ? b->data + b->len : small;
  size_t room = in_place ? b->cap - b->len : sizeof small;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(to, room, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= b->max) {
    b->failed = true;
    return false;
  }
  if ((size_t)n < room) {
    if (!in_place) return srv_buf_append(b, small, (size_t)n);
    if (!srv_buf_reserve(b, (size_t)n)) return false; /* within max: no reallocation */
    b->len += (size_t)n;
    return true;
  }
  if (!srv_buf_reserve(b, (size_t)n)) return false;
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return true;
}

char *srv_buf_take(srv_buf *b, size_t *len) {
  if (b->failed || !srv_buf_reserve(b, 0)) {
    srv_buf_free(b);
    return NULL;
  }
  char *out = b->data;
  if (len) *len = b->len;
  *b = (srv_buf){.max = b->max};
  return out;
}

void srv_buf_free(srv_buf *b) {
  free(b->data);
  *b = (srv_buf){.max = b->max};
}

/* ---- Clock and ids ------------------------------------------------------------------------ */

int64_t srv_now_ms(srv *s) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  if (!s) return ms;
  /* Tests only: the offset file is read at every use, so a change applies to the next request. */
  if (s->clock_file[0]) srv_read_test_clock(s);
  return ms + (int64_t)atomic_load(&s->clock_offset_ms);
}

void srv_read_test_clock(srv *s) {
  if (!s->clock_file[0]) return;
  FILE *f = fopen(s->clock_file, "r");
  long long seconds = 0;
  if (f) {
    if (fscanf(f, "%lld", &seconds) != 1) seconds = 0;
    fclose(f);
  }
  if (seconds > 100LL * 365 * 86400 || seconds < -100LL * 365 * 86400) seconds = 0;
  atomic_store(&s->clock_offset_ms, seconds * 1000);
}

uint64_t srv_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void srv_format_time(int64_t ms, char out[HV_LOG_TIME_SIZE]) { hv_log_format_time(ms, out); }

bool srv_uuid_v4(char out[SRV_UUID_SIZE]) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return false;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (size_t i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
  return true;
}

bool srv_keys_refresh(srv *s, bool rotate, bool force) {
  int64_t now_ms = srv_now_ms(s);
  hv_crypto_err cerr = {0};
  bool ok = true;
  if (s->keystore != NULL) {
    int64_t last = atomic_load(&s->keys_synced_ms);
    /* One sync a second at most: GET /v1/keys is open to anyone, and the database is shared. */
    if (force || now_ms - last >= 1000 || now_ms < last) {
      atomic_store(&s->keys_synced_ms, now_ms);
      ok = hv_keystore_sync(s->keystore, s->ring, now_ms / 1000, rotate, &cerr) == HV_CRYPTO_OK;
    }
  }
  /* A file ring rotates here; a shared one destroys what has expired, by time. */
  if (ok) ok = hv_keyring_rotate_if_due(s->ring, now_ms / 1000, &cerr) == HV_CRYPTO_OK;
  if (!ok)
    HV_LOG(s->log, HV_LOG_ERROR, "keys.rotate_failed", 0,
           HV_LOG_STR("error", hv_crypto_status_name(cerr.status)),
           HV_LOG_STR("message", cerr.message));
  return ok;
}

hv_audit_status srv_storage_status(srv *s) {
  pthread_mutex_lock(&s->health_mu);
  hv_audit_status st = s->health_status;
  pthread_mutex_unlock(&s->health_mu);
  return st;
}

bool srv_storage_ok(srv *s) {
  uint64_t now = srv_mono_ns();
  pthread_mutex_lock(&s->health_mu);
  if (s->health_checked_ns == 0 || now - s->health_checked_ns >= SRV_HEALTH_CACHE_MS * 1000000ull) {
    hv_audit_error err = {0};
    bool was_ok = s->health_ok || s->health_checked_ns == 0;
    s->health_status = hv_audit_health(s->audit, &err);
    s->health_ok = s->health_status == HV_AUDIT_OK;
    s->health_checked_ns = now;
    /* One line per change, not one per probe. */
    if (!s->health_ok && was_ok)
      HV_LOG(s->log, HV_LOG_ERROR, "storage.unhealthy", 0,
             HV_LOG_STR("error", hv_audit_status_name(err.status)),
             HV_LOG_STR("message", err.message));
    else if (s->health_ok && !was_ok)
      HV_LOG(s->log, HV_LOG_INFO, "storage.recovered", 0);
  }
  bool ok = s->health_ok;
  pthread_mutex_unlock(&s->health_mu);
  return ok;
}

void srv_storage_failed(srv *s) {
  pthread_mutex_lock(&s->health_mu);
  s->health_checked_ns = 0;
  pthread_mutex_unlock(&s->health_mu);
}

/* ---- Replies ------------------------------------------------------------------------------ */

/* Replaces every byte that is not part of valid UTF-8 (or is a control character) in place, so
 * that a message cut in the middle of a character or quoting client input is still a JSON string. */
static void srv_utf8_clean(char *s) {
  unsigned char *p = (unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    bool ok = n > 0 && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
    for (size_t k = 1; ok && k < n; k++) ok = (p[k] & 0xc0) == 0x80;
    if (ok && n == 3) {
      unsigned cp = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
      ok = cp >= 0x800 && (cp < 0xd800 || cp > 0xdfff);
    }
    if (ok && n == 4) {
      unsigned cp = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12);
      ok = cp >= 0x10000 && cp <= 0x10ffff;
    }
    if (!ok) {
      *p++ = '?';
      continue;
    }
    if (n == 1 && c < 0x20) *p = ' ';
    p += n;
  }
}

srv_reply srv_json_reply(unsigned status, json_t *obj) {
  srv_reply reply = {.status = status, .content_type = SRV_JSON_CONTENT_TYPE};
  char *text = obj ? json_dumps(obj, SRV_JSON_FLAGS) : NULL;
  json_decref(obj);
  if (!text) {
    reply.status = 500;
    return reply;
  }
  reply.body = text;
  reply.len = strlen(text);
  return reply;
}

srv_reply srv_error_reply(srv_request *r, outcome_code code, const json_t *summary,
                          const char *fmt, ...) {
  char message[EXEC_MESSAGE_MAX + 128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  return srv_error_reply_sealed(r, code, summary, NULL, message);
}

srv_reply srv_error_reply_sealed(srv_request *r, outcome_code code, const json_t *summary,
                                 const char *encrypted_error, const char *message_in) {
  char message[EXEC_MESSAGE_MAX + 128];
  snprintf(message, sizeof message, "%s", message_in);
  srv_utf8_clean(message);

  char ts[HV_LOG_TIME_SIZE];
  srv_format_time(srv_now_ms(r ? r->server : NULL), ts);
  json_t *obj = json_object();
  if (obj) {
    json_object_set_new(obj, "error_code", json_string(outcome_code_name(code)));
    json_object_set_new(obj, "message", json_string(message));
    json_object_set_new(obj, "timestamp", json_string(ts));
    if (r && r->request_id[0]) json_object_set_new(obj, "request_id", json_string(r->request_id));
    if (summary) json_object_set(obj, "execution_summary", (json_t *)summary);
    if (encrypted_error) json_object_set_new(obj, "encrypted_error", json_string(encrypted_error));
  }
  unsigned status = (unsigned)outcome_http_status(code);
  srv_reply reply = srv_json_reply(status, obj);
  if (r) {
    r->error = code;
    r->status = reply.status;
  }
  return reply;
}

void srv_reply_discard(srv_reply *reply) {
  free(reply->body);
  reply->body = NULL;
  reply->len = 0;
}
