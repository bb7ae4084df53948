/*
 * srv_tlog.c: the transparency log's service side (docs/audit.md, "The transparency log";
 * docs/protocol.md, "Transparency log"): the log key, the signed checkpoints, and the GET
 * /v1/log/... endpoints.
 *
 * The log key is an Ed25519 key of its own (never an HPKE key). A single node makes it on first
 * start and keeps it in the data directory (dirname(crypto.key_dir)/log-ed25519.key, owner-only,
 * written atomically, wrapped under the KEK when one is configured); the servers of a cluster
 * share one, kept wrapped in the database (hv_keystore_log_seed), which the caller passes in.
 * Its seed stays in memory while the server runs, to sign one checkpoint per audit round, and is
 * wiped when the log is freed; the bytes read from the file are wiped at once.
 *
 * The tree itself lives in the audit store (hv_audit_log_*): the audit writer appends each round
 * and this file signs the round's checkpoint and serves proofs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "hv_keystore.h"
#include "srv_int.h"

struct srv_tlog {
  hv_tlog_signer signer; /* the seed: wiped in srv_tlog_free */
  char verifier_key[HV_TLOG_VERIFIER_KEY_MAX];
  hv_audit_store *audit;
  pthread_mutex_t mu; /* the latest checkpoint */
  char latest[HV_TLOG_NOTE_MAX];
  size_t latest_len;
  uint64_t latest_size;
};

/* ---- The key file --------------------------------------------------------------------------- */

/* "HVLK", version 1, protection, then the seed: 32 bytes as they are (KEY_PLAIN), or hv_kek_wrap's
 * 61 bytes under the KEK with HV_KEYSTORE_LOG_KEY_ID in the AAD (KEY_WRAPPED), so that neither an
 * HPKE key file's blob nor the database's row can be passed off as this one. */
#define KEY_MAGIC "HVLK"
#define KEY_VERSION 1
#define KEY_PLAIN 0
#define KEY_WRAPPED 1
#define KEY_HEADER_LEN 6
#define KEY_PLAIN_LEN (KEY_HEADER_LEN + HV_TLOG_ED25519_SEED_LEN)
#define KEY_WRAPPED_LEN (KEY_PLAIN_LEN + HV_KEK_WRAP_OVERHEAD)

/* The file's bytes for seed: wrapped when there is a KEK. False when wrapping failed. */
static bool srv_tlog_key_encode(const uint8_t seed[HV_TLOG_ED25519_SEED_LEN], const hv_kek *kek,
                                uint8_t out[KEY_WRAPPED_LEN], size_t *len) {
  memcpy(out, KEY_MAGIC, 4);
  out[4] = KEY_VERSION;
  out[5] = kek ? KEY_WRAPPED : KEY_PLAIN;
  if (!kek) {
    memcpy(out + KEY_HEADER_LEN, seed, HV_TLOG_ED25519_SEED_LEN);
    *len = KEY_PLAIN_LEN;
    return true;
  }
  size_t n = 0;
  if (hv_kek_wrap(kek, HV_KEYSTORE_LOG_KEY_ID, seed, HV_TLOG_ED25519_SEED_LEN, out + KEY_HEADER_LEN,
                  &n, NULL) != HV_CRYPTO_OK)
    return false;
  *len = KEY_HEADER_LEN + n;
  return true;
}

static bool srv_tlog_key_decode(const uint8_t *in, size_t len, const hv_kek *kek,
                                uint8_t seed[HV_TLOG_ED25519_SEED_LEN], bool *wrapped, char *why,
                                size_t why_size) {
  if (len < KEY_HEADER_LEN || memcmp(in, KEY_MAGIC, 4) != 0 || in[4] != KEY_VERSION) {
    snprintf(why, why_size, "not a log key file (or an unknown version)");
    return false;
  }
  *wrapped = in[5] == KEY_WRAPPED;
  if (in[5] == KEY_PLAIN && len == KEY_PLAIN_LEN) {
    memcpy(seed, in + KEY_HEADER_LEN, HV_TLOG_ED25519_SEED_LEN);
    return true;
  }
  if (in[5] != KEY_WRAPPED || len != KEY_WRAPPED_LEN) {
    snprintf(why, why_size, "malformed log key file (protection %u, %zu bytes)", in[5], len);
    return false;
  }
  if (!kek) {
    snprintf(why, why_size,
             "the log key is wrapped under a key-encryption key: configure crypto.kek_file or %s",
             HV_KEK_ENV);
    return false;
  }
  size_t n = 0;
  if (hv_kek_unwrap(kek, HV_KEYSTORE_LOG_KEY_ID, in + KEY_HEADER_LEN, len - KEY_HEADER_LEN, seed, &n,
                    NULL) != HV_CRYPTO_OK ||
      n != HV_TLOG_ED25519_SEED_LEN) {
    OPENSSL_cleanse(seed, HV_TLOG_ED25519_SEED_LEN);
    snprintf(why, why_size,
             "the log key does not open with this key-encryption key (another KEK?)");
    return false;
  }
  return true;
}

/* Reads the key file; false with a reason (ENOENT in *missing when there is none). */
static bool srv_tlog_key_read(const char *path, const hv_kek *kek,
                              uint8_t seed[HV_TLOG_ED25519_SEED_LEN], bool *wrapped, bool *missing,
                              char *why, size_t why_size) {
  *missing = false;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *missing = errno == ENOENT;
    snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
    return false;
  }
  struct stat st;
  uint8_t buf[KEY_WRAPPED_LEN + 1];
  bool ok = fstat(fd, &st) == 0;
  if (ok && (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)) {
    snprintf(why, why_size, "%.300s: must be a regular file owned by this user with mode 0600", path);
    ok = false;
  } else if (ok) {
    ssize_t got = read(fd, buf, sizeof buf);
    char reason[160];
    ok = got > 0 && srv_tlog_key_decode(buf, (size_t)got, kek, seed, wrapped, reason, sizeof reason);
    if (!ok) snprintf(why, why_size, "%.300s: %s", path, got > 0 ? reason : "cannot be read");
  } else {
    snprintf(why, why_size, "%.300s: %s", path, strerror(errno));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  close(fd);
  return ok;
}

/* Writes seed atomically: a temporary file (0600), fsync, then link to the name (never replacing
 * a key that appeared meanwhile) or, with replace, rename over it; then fsync of the directory. */
static bool srv_tlog_key_write(const char *dir, const char *path, const hv_kek *kek, bool replace,
                               const uint8_t seed[HV_TLOG_ED25519_SEED_LEN], char *why,
                               size_t why_size) {
  char tmp[HV_CONFIG_PATH_SIZE + 64];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  uint8_t buf[KEY_WRAPPED_LEN];
  size_t len = 0;
  if (!srv_tlog_key_encode(seed, kek, buf, &len)) {
    snprintf(why, why_size, "%.300s: cannot wrap the log key", path);
    return false;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
  int e = errno;
  if (fd >= 0) close(fd);
  OPENSSL_cleanse(buf, sizeof buf);
  if (ok && (replace ? rename(tmp, path) : link(tmp, path)) != 0) {
    e = errno;
    ok = false;
  }
  unlink(tmp);
  if (!ok) {
    snprintf(why, why_size, "%.300s: cannot write the log key: %s", path, strerror(e));
    return false;
  }
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  return true;
}

/* The single node's key: read from its file, or made and written on first start. With a KEK the
 * file holds the seed wrapped, and a plaintext file left from before is rewritten wrapped. */
static bool srv_tlog_key_load(const char *key_dir, const hv_kek *kek,
                              uint8_t seed[HV_TLOG_ED25519_SEED_LEN], char *why, size_t why_size) {
  char dir[HV_CONFIG_PATH_SIZE], path[HV_CONFIG_PATH_SIZE + 32];
  snprintf(dir, sizeof dir, "%s", key_dir);
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
  char *data_dir = dirname(dir);
  snprintf(path, sizeof path, "%s/%s", data_dir, SRV_LOG_KEY_FILE);
  bool missing = false, wrapped = false;
  if (srv_tlog_key_read(path, kek, seed, &wrapped, &missing, why, why_size)) {
    if (!kek || wrapped) return true;
    if (srv_tlog_key_write(data_dir, path, kek, true, seed, why, why_size)) return true;
    OPENSSL_cleanse(seed, HV_TLOG_ED25519_SEED_LEN);
    return false;
  }
  if (!missing) return false;
  if (RAND_priv_bytes(seed, HV_TLOG_ED25519_SEED_LEN) != 1) {
    snprintf(why, why_size, "the random generator failed");
    return false;
  }
  if (srv_tlog_key_write(data_dir, path, kek, false, seed, why, why_size)) return true;
  OPENSSL_cleanse(seed, HV_TLOG_ED25519_SEED_LEN);
  return false;
}

/* ---- The log -------------------------------------------------------------------------------- */

srv_tlog *srv_tlog_open(const char *key_dir, const uint8_t *shared_seed, const hv_kek *kek,
                        hv_audit_store *audit, char *why, size_t why_size) {
  uint8_t seed[HV_TLOG_ED25519_SEED_LEN];
  if (shared_seed) {
    memcpy(seed, shared_seed, sizeof seed);
  } else if (!srv_tlog_key_load(key_dir, kek, seed, why, why_size)) {
    return NULL;
  }
  srv_tlog *t = calloc(1, sizeof *t);
  if (!t) {
    OPENSSL_cleanse(seed, sizeof seed);
    snprintf(why, why_size, "out of memory");
    return NULL;
  }
  /* The origin names this log uniquely: the product and a fingerprint of its key. */
  uint8_t pub_hash[SHA256_DIGEST_LENGTH];
  hv_tlog_signer probe;
  char name[HV_TLOG_KEY_NAME_MAX] = "";
  hv_tlog_status ts = hv_tlog_signer_init(&probe, "probe", seed);
  if (ts == HV_TLOG_OK) {
    SHA256(probe.public_key, sizeof probe.public_key, pub_hash);
    snprintf(name, sizeof name, "wasm-hypervisor/log/%02x%02x%02x%02x%02x%02x%02x%02x", pub_hash[0],
             pub_hash[1], pub_hash[2], pub_hash[3], pub_hash[4], pub_hash[5], pub_hash[6],
             pub_hash[7]);
    ts = hv_tlog_signer_init(&t->signer, name, seed);
  }
  hv_tlog_signer_wipe(&probe);
  OPENSSL_cleanse(seed, sizeof seed);
  if (ts == HV_TLOG_OK) ts = hv_tlog_verifier_key_format(&t->signer, t->verifier_key);
  if (ts != HV_TLOG_OK) {
    snprintf(why, why_size, "log key: %s", hv_tlog_status_text(ts));
    srv_tlog_free(t);
    return NULL;
  }
  t->audit = audit;
  pthread_mutex_init(&t->mu, NULL);
  /* A checkpoint of the tree as it is now, so GET /v1/log/checkpoint answers from the start. */
  uint64_t size = 0;
  uint8_t root[HV_TLOG_HASH_LEN];
  hv_audit_error aerr = {0};
  if (hv_audit_log_head(audit, &size, root, &aerr) != HV_AUDIT_OK) {
    snprintf(why, why_size, "the transparency log cannot be read: %s", aerr.message);
    srv_tlog_free(t);
    return NULL;
  }
  char note[HV_TLOG_NOTE_MAX];
  if (!srv_tlog_sign(t, size, root, note, NULL)) {
    snprintf(why, why_size, "cannot sign a checkpoint with the log key");
    srv_tlog_free(t);
    return NULL;
  }
  return t;
}

void srv_tlog_free(srv_tlog *t) {
  if (!t) return;
  hv_tlog_signer_wipe(&t->signer);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

const char *srv_tlog_origin(const srv_tlog *t) { return t->signer.name; }
const char *srv_tlog_verifier_key(const srv_tlog *t) { return t->verifier_key; }

bool srv_tlog_sign(srv_tlog *t, uint64_t size, const uint8_t root[HV_TLOG_HASH_LEN],
                   char out[HV_TLOG_NOTE_MAX], size_t *len) {
  size_t n = 0;
  if (hv_tlog_checkpoint_sign(&t->signer, size, root, out, &n) != HV_TLOG_OK) return false;
  if (len) *len = n;
  pthread_mutex_lock(&t->mu);
  if (t->latest_len == 0 || size >= t->latest_size) {
    memcpy(t->latest, out, n + 1);
    t->latest_len = n;
    t->latest_size = size;
  }
  pthread_mutex_unlock(&t->mu);
  return true;
}

/* ---- GET /v1/log/... ------------------------------------------------------------------------ */

#define LOG_QUERY_MAX 2
typedef struct log_query {
  const char *names[LOG_QUERY_MAX];
  const char *values[LOG_QUERY_MAX];
  size_t count;
  const char *bad; /* an unknown or repeated parameter */
  bool repeated;
} log_query;

static enum MHD_Result log_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  (void)kind;
  log_query *q = cls;
  for (size_t i = 0; i < q->count; i++) {
    if (strcmp(key, q->names[i]) != 0) continue;
    if (q->values[i]) {
      if (!q->bad) {
        q->bad = key;
        q->repeated = true;
      }
      return MHD_YES;
    }
    q->values[i] = value ? value : "";
    return MHD_YES;
  }
  if (!q->bad) q->bad = key;
  return MHD_YES;
}

/* A decimal without sign or leading zeros, at most 2^63 - 1. */
static bool parse_index(const char *text, uint64_t *out) {
  size_t n = strlen(text);
  if (n == 0 || n > 19 || (n > 1 && text[0] == '0')) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (uint64_t)(text[i] - '0');
  }
  if (v > INT64_MAX) return false;
  *out = v;
  return true;
}

/* Reads the two named parameters (both required); false with the 400 in *reply. */
static bool log_params(srv_request *r, const char *a, const char *b, uint64_t *va, uint64_t *vb,
                       srv_reply *reply) {
  log_query q = {.names = {a, b}, .count = 2};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, log_query_arg, &q);
  if (q.bad) {
    *reply = srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                             q.repeated ? "query parameter '%.64s' given twice"
                                        : "unknown query parameter '%.64s' (expected %s and %s)",
                             q.bad, a, b);
    return false;
  }
  const char *names[2] = {a, b};
  uint64_t *outs[2] = {va, vb};
  for (size_t i = 0; i < 2; i++) {
    if (!q.values[i]) {
      *reply = srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                               "query parameter '%s' is required (%s and %s)", names[i], a, b);
      return false;
    }
    if (!parse_index(q.values[i], outs[i])) {
      *reply = srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                               "%s: must be a decimal integer from 0 to 9223372036854775807", names[i]);
      return false;
    }
  }
  return true;
}

static json_t *b64_hash(const uint8_t h[HV_TLOG_HASH_LEN]) {
  char text[64];
  hv_tlog_base64_encode(h, HV_TLOG_HASH_LEN, text);
  return json_string(text);
}

static json_t *proof_array(uint8_t proof[][HV_TLOG_HASH_LEN], size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++) json_array_append_new(a, b64_hash(proof[i]));
  return a;
}

/* An audit failure as a reply: 400 for a bad range (its message), 500 otherwise (logged). */
static srv_reply log_audit_failure(srv_request *r, hv_audit_status as, const hv_audit_error *err) {
  if (as == HV_AUDIT_INVALID_ARGUMENT)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL, "%s", err->message);
  HV_LOG(r->server->log, HV_LOG_ERROR, "tlog.read_failed", 0,
         HV_LOG_STR("error", hv_audit_status_name(as)), HV_LOG_STR("message", err->message));
  return srv_error_reply(r, OUTCOME_INTERNAL_ERROR, NULL, "the transparency log cannot be read");
}

/* The tree size now (for range checks). */
static bool log_size_now(srv_request *r, uint64_t *size, srv_reply *reply) {
  uint8_t root[HV_TLOG_HASH_LEN];
  hv_audit_error err = {0};
  hv_audit_status as = hv_audit_log_head(r->server->audit, size, root, &err);
  if (as != HV_AUDIT_OK) {
    *reply = log_audit_failure(r, as, &err);
    return false;
  }
  return true;
}

static srv_reply log_checkpoint(srv_request *r) {
  srv_tlog *t = r->server->tlog;
  /* Other servers sharing the store may have grown the tree since this one last signed: sign the
   * tree as it is now when it is larger (a store that cannot be read leaves the latest as it is). */
  uint64_t size = 0;
  uint8_t root[HV_TLOG_HASH_LEN];
  pthread_mutex_lock(&t->mu);
  uint64_t latest = t->latest_size;
  pthread_mutex_unlock(&t->mu);
  char note[HV_TLOG_NOTE_MAX];
  if (hv_audit_log_head(t->audit, &size, root, NULL) == HV_AUDIT_OK && size > latest)
    (void)srv_tlog_sign(t, size, root, note, NULL);
  srv_reply reply = {.status = 200, .content_type = "text/plain; charset=utf-8"};
  pthread_mutex_lock(&t->mu);
  reply.body = malloc(t->latest_len + 1);
  if (reply.body) {
    memcpy(reply.body, t->latest, t->latest_len + 1);
    reply.len = t->latest_len;
  }
  pthread_mutex_unlock(&t->mu);
  if (!reply.body) return srv_json_reply(500, NULL);
  return reply;
}

static srv_reply log_key(srv_request *r) {
  srv_tlog *t = r->server->tlog;
  json_t *o = json_object();
  if (!o) return srv_json_reply(500, NULL);
  char pub[64];
  hv_tlog_base64_encode(t->signer.public_key, sizeof t->signer.public_key, pub);
  json_object_set_new(o, "origin", json_string(t->signer.name));
  json_object_set_new(o, "verifier_key", json_string(t->verifier_key));
  json_object_set_new(o, "algorithm", json_string("ed25519"));
  json_object_set_new(o, "public_key", json_string(pub));
  return srv_json_reply(200, o);
}

static srv_reply log_inclusion(srv_request *r) {
  srv_reply reply;
  uint64_t index = 0, size = 0, now = 0;
  if (!log_params(r, "index", "size", &index, &size, &reply)) return reply;
  if (!log_size_now(r, &now, &reply)) return reply;
  if (size == 0 || size > now || index >= size)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "need index < size <= %" PRIu64 " (the tree's size), got index %" PRIu64
                           " and size %" PRIu64,
                           now, index, size);
  uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t n = 0;
  hv_audit_error err = {0};
  hv_audit_status as = hv_audit_log_inclusion(r->server->audit, index, size, proof, &n, &err);
  hv_audit_log_leaf leaf;
  size_t got = 0;
  if (as == HV_AUDIT_OK) as = hv_audit_log_leaves(r->server->audit, index, index + 1, &leaf, &got, &err);
  if (as != HV_AUDIT_OK) return log_audit_failure(r, as, &err);
  json_t *o = json_object();
  if (!o) return srv_json_reply(500, NULL);
  json_object_set_new(o, "index", json_integer((json_int_t)index));
  json_object_set_new(o, "tree_size", json_integer((json_int_t)size));
  if (got == 1) json_object_set_new(o, "leaf_hash", b64_hash(leaf.leaf_hash));
  json_object_set_new(o, "inclusion_proof", proof_array(proof, n));
  return srv_json_reply(200, o);
}

static srv_reply log_consistency(srv_request *r) {
  srv_reply reply;
  uint64_t old_size = 0, new_size = 0, now = 0;
  if (!log_params(r, "old", "new", &old_size, &new_size, &reply)) return reply;
  if (!log_size_now(r, &now, &reply)) return reply;
  if (old_size == 0 || old_size > new_size || new_size > now)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "need 0 < old <= new <= %" PRIu64 " (the tree's size), got old %" PRIu64
                           " and new %" PRIu64,
                           now, old_size, new_size);
  uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t n = 0;
  hv_audit_error err = {0};
  hv_audit_status as = hv_audit_log_consistency(r->server->audit, old_size, new_size, proof, &n, &err);
  if (as != HV_AUDIT_OK) return log_audit_failure(r, as, &err);
  json_t *o = json_object();
  if (!o) return srv_json_reply(500, NULL);
  json_object_set_new(o, "old_size", json_integer((json_int_t)old_size));
  json_object_set_new(o, "new_size", json_integer((json_int_t)new_size));
  json_object_set_new(o, "consistency_proof", proof_array(proof, n));
  return srv_json_reply(200, o);
}

static srv_reply log_leaves(srv_request *r) {
  srv_reply reply;
  uint64_t start = 0, end = 0, now = 0;
  if (!log_params(r, "start", "end", &start, &end, &reply)) return reply;
  if (!log_size_now(r, &now, &reply)) return reply;
  if (start >= end || start >= now)
    return srv_error_reply(r, OUTCOME_INVALID_REQUEST, NULL,
                           "need start < end and start < %" PRIu64 " (the tree's size), got start "
                           "%" PRIu64 " and end %" PRIu64,
                           now, start, end);
  /* A page is at most HV_AUDIT_LOG_PAGE_MAX leaves and ends at the tree's end; the reply's end
   * says where the next page starts. */
  if (end > now) end = now;
  if (end - start > HV_AUDIT_LOG_PAGE_MAX) end = start + HV_AUDIT_LOG_PAGE_MAX;
  hv_audit_log_leaf *leaves = calloc(HV_AUDIT_LOG_PAGE_MAX, sizeof *leaves);
  if (!leaves) return srv_json_reply(500, NULL);
  size_t n = 0;
  hv_audit_error err = {0};
  hv_audit_status as = hv_audit_log_leaves(r->server->audit, start, end, leaves, &n, &err);
  if (as != HV_AUDIT_OK) {
    free(leaves);
    return log_audit_failure(r, as, &err);
  }
  json_t *o = json_object(), *list = json_array();
  if (!o || !list) {
    json_decref(o);
    json_decref(list);
    free(leaves);
    return srv_json_reply(500, NULL);
  }
  for (size_t k = 0; k < n; k++) {
    json_t *e = json_object();
    json_object_set_new(e, "index", json_integer((json_int_t)leaves[k].index));
    json_object_set_new(e, "leaf_hash", b64_hash(leaves[k].leaf_hash));
    if (leaves[k].has_record) {
      char *text = malloc(4 * ((leaves[k].leaf_len + 2) / 3) + 1);
      if (text) hv_tlog_base64_encode(leaves[k].leaf, leaves[k].leaf_len, text);
      json_object_set_new(e, "leaf", text ? json_string(text) : json_null());
      free(text);
    } else {
      json_object_set_new(e, "leaf", json_null());
    }
    json_object_set_new(e, "record", json_string(leaves[k].has_record       ? "present"
                                                 : leaves[k].record_invalid ? "invalid"
                                                                            : "absent"));
    json_array_append_new(list, e);
  }
  free(leaves);
  json_object_set_new(o, "start", json_integer((json_int_t)start));
  json_object_set_new(o, "end", json_integer((json_int_t)(start + n)));
  json_object_set_new(o, "tree_size", json_integer((json_int_t)now));
  json_object_set_new(o, "leaves", list);
  return srv_json_reply(200, o);
}

srv_reply srv_route_log(srv_request *r, const char *path) {
  if (!r->server->tlog)
    return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL,
                           "the transparency log is off on this server (storage.transparency_log)");
  if (strcmp(path, "/v1/log/checkpoint") == 0) return log_checkpoint(r);
  if (strcmp(path, "/v1/log/key") == 0) return log_key(r);
  if (strcmp(path, "/v1/log/proof/inclusion") == 0) return log_inclusion(r);
  if (strcmp(path, "/v1/log/proof/consistency") == 0) return log_consistency(r);
  if (strcmp(path, "/v1/log/leaves") == 0) return log_leaves(r);
  return srv_error_reply(r, OUTCOME_NOT_FOUND, NULL, "no such endpoint");
}

/* ---- The receipt in an execute reply -------------------------------------------------------- */

/* Appends s as the inside of a JSON string. */
static void json_text(srv_buf *b, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '\n') srv_buf_append(b, "\\n", 2);
    else if (c == '"' || c == '\\') srv_buf_printf(b, "\\%c", c);
    else if ((unsigned char)c < 0x20) srv_buf_printf(b, "\\u%04x", (unsigned)c);
    else srv_buf_append(b, &c, 1);
  }
}

char *srv_tlog_receipt_json(const srv_tlog *t, const hv_audit_log_receipt *receipt,
                            uint64_t tree_size, const char *checkpoint, size_t checkpoint_len,
                            size_t *len) {
  if (receipt->leaf_len == 0 || receipt->leaf_len > HV_AUDIT_LEAF_MAX) return NULL;
  char leaf_b64[4 * (HV_AUDIT_LEAF_MAX + 2) / 3 + 4], hash_b64[64];
  hv_tlog_base64_encode(receipt->leaf, receipt->leaf_len, leaf_b64);
  hv_tlog_base64_encode(receipt->leaf_hash, HV_TLOG_HASH_LEN, hash_b64);
  srv_buf b;
  srv_buf_init(&b, 16384);
  srv_buf_printf(&b,
                 "{\"log_origin\":\"%s\",\"leaf_index\":%" PRIu64 ",\"leaf\":\"%s\",\"leaf_hash\":"
                 "\"%s\",\"tree_size\":%" PRIu64 ",\"inclusion_proof\":[",
                 t->signer.name, receipt->leaf_index, leaf_b64, hash_b64, tree_size);
  for (size_t i = 0; i < receipt->proof_len; i++) {
    char h[64];
    hv_tlog_base64_encode(receipt->proof[i], HV_TLOG_HASH_LEN, h);
    srv_buf_printf(&b, "%s\"%s\"", i ? "," : "", h);
  }
  srv_buf_append(&b, "],\"checkpoint\":\"", 16);
  json_text(&b, checkpoint, checkpoint_len);
  srv_buf_append(&b, "\"}", 2);
  return srv_buf_take(&b, len);
}
