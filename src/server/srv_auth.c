/*
 * srv_auth.c: API keys and the per-key rate limit.
 *
 * The server holds only SHA-256 hashes of the keys (auth.api_keys). A request's X-API-Key is
 * hashed and compared with CRYPTO_memcmp against every configured hash, without stopping at a
 * match, so the time taken says nothing about which key matched or how much of a hash did. What
 * gets logged and recorded is the key's id, never the key.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "srv_int.h"

/* ---- Token buckets ------------------------------------------------------------------------ */

typedef struct srv_bucket {
  pthread_mutex_t mu;
  double tokens;
  uint64_t last_ns;
} srv_bucket;

struct srv_ratelimit {
  size_t count;
  double per_second;
  double burst;
  atomic_ullong refused;
  srv_bucket buckets[];
};

srv_ratelimit *srv_ratelimit_new(size_t key_count, uint32_t per_second, uint32_t burst) {
  size_t n = key_count ? key_count : 1;
  srv_ratelimit *rl = calloc(1, sizeof *rl + n * sizeof(srv_bucket));
  if (!rl) return NULL;
  rl->count = n;
  rl->per_second = per_second ? per_second : 1;
  rl->burst = burst ? burst : 1;
  atomic_init(&rl->refused, 0);
  for (size_t k = 0; k < n; k++) {
    pthread_mutex_init(&rl->buckets[k].mu, NULL);
    rl->buckets[k].tokens = rl->burst; /* a fresh bucket is full */
    rl->buckets[k].last_ns = 0;
  }
  return rl;
}

void srv_ratelimit_free(srv_ratelimit *rl) {
  if (!rl) return;
  for (size_t k = 0; k < rl->count; k++) pthread_mutex_destroy(&rl->buckets[k].mu);
  free(rl);
}

bool srv_ratelimit_take(srv_ratelimit *rl, size_t index, uint64_t now_ns,
                        uint32_t *retry_after_s) {
  if (index >= rl->count) return false;
  srv_bucket *b = &rl->buckets[index];
  bool ok;
  pthread_mutex_lock(&b->mu);
  if (b->last_ns != 0 && now_ns > b->last_ns) {
    b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->per_second;
    if (b->tokens > rl->burst) b->tokens = rl->burst;
  }
  if (b->last_ns == 0 || now_ns > b->last_ns) b->last_ns = now_ns;
  ok = b->tokens >= 1.0;
  if (ok) {
    b->tokens -= 1.0;
  } else {
    double wait = ceil((1.0 - b->tokens) / rl->per_second);
    *retry_after_s = wait < 1.0 ? 1u : wait > 3600.0 ? 3600u : (uint32_t)wait;
  }
  pthread_mutex_unlock(&b->mu);
  if (!ok) atomic_fetch_add(&rl->refused, 1);
  return ok;
}

void srv_ratelimit_carry(srv_ratelimit *to, const srv_ratelimit *from) {
  atomic_store(&to->refused, srv_ratelimit_refused(from));
}

uint64_t srv_ratelimit_refused(const srv_ratelimit *rl) {
  return atomic_load(&((srv_ratelimit *)rl)->refused);
}

/* ---- Authentication ----------------------------------------------------------------------- */

/* Index of the configured key whose hash is `digest`, or -1; constant time over all keys. */
static long srv_find_key(const hv_config *config, const unsigned char digest[32]) {
  long found = -1;
  for (size_t k = 0; k < config->auth.api_key_count; k++) {
    int diff = CRYPTO_memcmp(config->auth.api_keys[k].sha256, digest, 32);
    long mask = -(long)(diff == 0); /* all ones on a match */
    found = (found & ~mask) | ((long)k & mask);
  }
  return found;
}

/* Trims RFC 9110 §5.5 whitespace around a field value; returns its length. */
static size_t srv_trim(const char **v) {
  const char *p = *v;
  size_t len = p ? strlen(p) : 0;
  while (len && (p[0] == ' ' || p[0] == '\t')) p++, len--;
  while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
  *v = p;
  return len;
}

/* Checks `key` (key_len bytes, not NUL-terminated) against the API keys and takes a token of its
 * rate limit. With `metrics_token`, the configured metrics token is also accepted (constant time,
 * compared whether or not an API key matched). */
static bool srv_check_key(srv_request *r, const char *key, size_t key_len, bool metrics_token,
                          srv_reply *reply) {
  srv *s = r->server;
  unsigned char digest[32];
  unsigned int dlen = 0;
  if (EVP_Digest(key, key_len, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32) {
    *reply = srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "cannot check the API key");
    return false;
  }
  bool is_metrics_token = metrics_token && s->config.server.has_metrics_token &&
                          CRYPTO_memcmp(s->config.server.metrics_token_sha256, digest, 32) == 0;
  pthread_rwlock_rdlock(&s->auth_lock);
  long index = srv_find_key(&s->config, digest);
  OPENSSL_cleanse(digest, sizeof digest);
  if (is_metrics_token) {
    /* Read-only figures; the token is no API key and has no bucket. */
    pthread_rwlock_unlock(&s->auth_lock);
    r->api_key_id = SRV_METRICS_TOKEN_ID;
    return true;
  }
  if (index >= 0) {
    snprintf(r->api_key_id_buf, sizeof r->api_key_id_buf, "%s", s->config.auth.api_keys[index].id);
    r->api_key_id = r->api_key_id_buf;
  }
  uint32_t retry = 1;
  bool within_rate = index >= 0 && srv_ratelimit_take(s->rate, (size_t)index, srv_mono_ns(), &retry);
  uint32_t rps = s->config.rate_limit.requests_per_second, burst = s->config.rate_limit.burst;
  pthread_rwlock_unlock(&s->auth_lock);
  if (index < 0) {
    HV_LOG(s->log, HV_LOG_WARN, "auth.rejected", HV_LOG_SECURITY,
           HV_LOG_STR("path", r->path), HV_LOG_STR("reason", "unknown API key"));
    *reply = srv_error_reply(r, OUTCOME_UNAUTHORIZED, NULL, "the API key is not valid");
    return false;
  }
  r->key_index = index;
  /* The executor's name for the key: FNV-1a of its id, stable across configuration reloads. */
  uint64_t h = 14695981039346656037ull;
  for (const char *p = r->api_key_id; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  r->tenant = h;

  if (!within_rate) {
    HV_LOG(s->log, HV_LOG_WARN, "rate.limited", HV_LOG_SECURITY,
           HV_LOG_STR("api_key_id", r->api_key_id), HV_LOG_STR("path", r->path),
           HV_LOG_UINT("retry_after_s", retry));
    *reply = srv_error_reply(r, OUTCOME_RATE_LIMITED, NULL,
                             "API key '%s' is over its rate limit of %u requests per second "
                             "(burst %u); retry in %u s",
                             r->api_key_id, rps, burst, retry);
    reply->retry_after_s = retry;
    return false;
  }
  return true;
}

bool srv_authenticate(srv_request *r, srv_reply *reply) {
  const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-API-Key");
  size_t key_len = srv_trim(&key);
  if (key_len == 0) {
    HV_LOG(r->server->log, HV_LOG_WARN, "auth.rejected", HV_LOG_SECURITY,
           HV_LOG_STR("path", r->path), HV_LOG_STR("reason", "missing X-API-Key"));
    *reply = srv_error_reply(r, OUTCOME_UNAUTHORIZED, NULL,
                             "this endpoint needs an API key in the X-API-Key header");
    return false;
  }
  return srv_check_key(r, key, key_len, false, reply);
}

bool srv_authenticate_metrics(srv_request *r, srv_reply *reply) {
  const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-API-Key");
  size_t key_len = srv_trim(&key);
  if (key_len > 0) return srv_check_key(r, key, key_len, false, reply);
  const char *auth = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
  size_t auth_len = srv_trim(&auth);
  /* RFC 6750 §2.1: "Bearer" (any case), one or more spaces, the token. */
  if (auth_len > 7 && strncasecmp(auth, "Bearer ", 7) == 0) {
    const char *token = auth + 7;
    size_t token_len = auth_len - 7;
    while (token_len && *token == ' ') token++, token_len--;
    if (token_len > 0) return srv_check_key(r, token, token_len, true, reply);
  }
  HV_LOG(r->server->log, HV_LOG_WARN, "auth.rejected", HV_LOG_SECURITY,
         HV_LOG_STR("path", r->path),
         HV_LOG_STR("reason", auth_len ? "Authorization is not a Bearer token" : "no credentials"));
  *reply = srv_error_reply(r, OUTCOME_UNAUTHORIZED, NULL,
                           "/metrics needs an API key in the X-API-Key header, or "
                           "'Authorization: Bearer TOKEN' with an API key or the metrics token");
  return false;
}
