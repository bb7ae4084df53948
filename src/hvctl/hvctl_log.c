/*
 * hvctl_log.c: receipts and the transparency log from the client's side (hvctl_log.h). Every check
 * runs here, with hv_tlog's verification code, on what the client holds; the server is trusted for
 * nothing but answering.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "hv_audit.h"
#include "hv_tlog.h"
#include "hvctl_http.h"
#include "hvctl_log.h"

enum { LOG_OK = 0, LOG_FAIL = 1, LOG_USAGE = 2 };
#define STATE_MAX_BYTES (1u << 20)

__attribute__((format(printf, 1, 2))) static int log_fail(const char *fmt, ...) {
  va_list ap;
  fputs("hvctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return LOG_FAIL;
}

__attribute__((format(printf, 1, 2))) static int log_usage(const char *fmt, ...) {
  va_list ap;
  fputs("hvctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: hvctl [--server URL] receipt verify --log-key KEY|@FILE [--online] FILE\n"
        "       hvctl [--server URL] log key\n"
        "       hvctl [--server URL] log monitor --state FILE [--log-key KEY|@FILE] [--full] [--no-leaves]\n",
        stderr);
  return LOG_USAGE;
}

/* ---- Small helpers ---------------------------------------------------------------------------- */

/* Writes text to path atomically (temporary file, fsync, rename). */
static bool write_file(const char *path, const char *text) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp) return false;
  snprintf(tmp, plen + 16, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  size_t len = strlen(text);
  bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0;
  if (fd >= 0 && close(fd) != 0) ok = false;
  if (ok) ok = rename(tmp, path) == 0;
  if (!ok) unlink(tmp);
  free(tmp);
  return ok;
}

/* GET server + path; the body as JSON (object) or, with `text`, as the raw body (caller frees). */
static int get(const char *server, const char *path, json_t **json, char **text, size_t *text_len) {
  size_t n = strlen(server);
  while (n > 0 && server[n - 1] == '/') n--;
  size_t len = n + strlen(path) + 1;
  char *url = malloc(len);
  if (!url) return log_fail("out of memory");
  snprintf(url, len, "%.*s%s", (int)n, server, path);
  hvctl_request req = {.method = "GET", .url = url, .timeout_s = 30,
                       .accept = text ? "text/plain" : NULL};
  hvctl_response resp;
  bool ok = hvctl_http(&req, &resp);
  free(url);
  if (!ok) {
    int rc = log_fail("%s: %s", server, resp.error);
    hvctl_response_free(&resp);
    return rc;
  }
  int rc = LOG_OK;
  if (resp.status != 200) {
    json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
    const char *msg = json_string_value(json_object_get(o, "message"));
    rc = log_fail("GET %s: HTTP %ld: %s", path, resp.status, msg ? msg : "(no message)");
    json_decref(o);
  } else if (text) {
    *text = resp.body;
    *text_len = resp.len;
    resp.body = NULL;
  } else {
    *json = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(*json)) {
      json_decref(*json);
      *json = NULL;
      rc = log_fail("GET %s: the answer is not a JSON object", path);
    }
  }
  hvctl_response_free(&resp);
  return rc;
}

/* A verifier key given as text or @FILE (first line). */
static int read_verifier(const char *arg, hv_tlog_verifier *v) {
  char buf[HV_TLOG_VERIFIER_KEY_MAX + 2] = "";
  const char *text = arg;
  if (arg[0] == '@') {
    FILE *f = fopen(arg + 1, "r");
    if (!f) return log_fail("%s: %s", arg + 1, strerror(errno));
    if (!fgets(buf, sizeof buf, f)) buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    text = buf;
  }
  hv_tlog_status ts = hv_tlog_verifier_key_parse(text, v);
  if (ts != HV_TLOG_OK) return log_fail("the log key '%.80s': %s", text, hv_tlog_status_text(ts));
  return LOG_OK;
}

/* The verifier key text of v: "name+hhhhhhhh+base64(0x01 || public key)". */
static void verifier_text(const hv_tlog_verifier *v, char out[HV_TLOG_VERIFIER_KEY_MAX]) {
  uint8_t raw[1 + HV_TLOG_ED25519_PUBLIC_LEN];
  raw[0] = 0x01;
  memcpy(raw + 1, v->public_key, HV_TLOG_ED25519_PUBLIC_LEN);
  char b64[64];
  hv_tlog_base64_encode(raw, sizeof raw, b64);
  int n = snprintf(out, HV_TLOG_VERIFIER_KEY_MAX, "%s+%08x+%s", v->name, (unsigned)v->key_id, b64);
  if (n < 0 || n >= HV_TLOG_VERIFIER_KEY_MAX) out[0] = '\0'; /* cannot happen: a name is < 128 */
}

/* A JSON array of base64 hashes into proof; false when malformed or too long. */
static bool read_proof(json_t *a, uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN], size_t *n) {
  if (!json_is_array(a) || json_array_size(a) > HV_TLOG_PROOF_MAX) return false;
  for (size_t i = 0; i < json_array_size(a); i++) {
    const char *s = json_string_value(json_array_get(a, i));
    if (!s || !hv_tlog_base64_decode(s, proof[i], HV_TLOG_HASH_LEN)) return false;
  }
  *n = json_array_size(a);
  return true;
}

static bool json_u64(json_t *o, const char *key, uint64_t *out) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
  *out = (uint64_t)json_integer_value(v);
  return true;
}

/* GET /v1/log/checkpoint, verified with v. */
static int fetch_checkpoint(const char *server, const hv_tlog_verifier *v, hv_tlog_checkpoint *cp) {
  char *note = NULL;
  size_t len = 0;
  int rc = get(server, "/v1/log/checkpoint", NULL, &note, &len);
  if (rc != LOG_OK) return rc;
  hv_tlog_status ts = hv_tlog_checkpoint_open(note, len, v, cp);
  free(note);
  if (ts != HV_TLOG_OK) return log_fail("the server's checkpoint: %s", hv_tlog_status_text(ts));
  return LOG_OK;
}

/* Checks that the tree (old_size, old_root) is a prefix of (new_size, new_root) with the server's
 * consistency proof. */
static int check_consistency(const char *server, uint64_t old_size, const uint8_t old_root[32],
                             uint64_t new_size, const uint8_t new_root[32]) {
  if (new_size < old_size)
    return log_fail("ROLLBACK: the log's tree has %" PRIu64 " leaves, it had %" PRIu64, new_size,
                    old_size);
  if (old_size == 0) return LOG_OK; /* nothing seen yet: anything extends it */
  if (new_size == old_size) {
    if (memcmp(old_root, new_root, 32) != 0)
      return log_fail("FORK: two different roots for the tree of %" PRIu64 " leaves", new_size);
    return LOG_OK;
  }
  char path[128];
  snprintf(path, sizeof path, "/v1/log/proof/consistency?old=%" PRIu64 "&new=%" PRIu64, old_size,
           new_size);
  json_t *o = NULL;
  int rc = get(server, path, &o, NULL, NULL);
  if (rc != LOG_OK) return rc;
  uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t n = 0;
  bool ok = read_proof(json_object_get(o, "consistency_proof"), proof, &n);
  json_decref(o);
  if (!ok) return log_fail("the server's consistency proof is malformed");
  if (hv_tlog_verify_consistency(old_size, new_size, old_root, new_root,
                                 (const uint8_t(*)[32])proof, n) != HV_TLOG_OK)
    return log_fail("FORK: the tree of %" PRIu64 " leaves is not a prefix of the tree of %" PRIu64
                    " leaves (the consistency proof fails)",
                    old_size, new_size);
  return LOG_OK;
}

/* ---- Receipts --------------------------------------------------------------------------------- */

int hvctl_receipt_save(const char *path, const char *body, size_t len) {
  json_t *reply = json_loadb(body, len, 0, NULL);
  json_t *receipt = json_object_get(reply, "receipt");
  if (!json_is_object(receipt)) {
    json_decref(reply);
    return log_fail("the server's answer has no receipt (is its transparency log off?)");
  }
  /* What the client holds: the commitments it checked against its own request and result, and
   * the receipt that ties them to the log. The sealed result itself is not kept here. */
  json_t *o = json_object();
  static const char *const keep[] = {"request_id", "key_id", "result_commitment",
                                     "program_commitment", "arguments_commitment"};
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    json_object_set(o, keep[i], json_object_get(reply, keep[i]));
  json_object_set_new(o, "status", json_string("success"));
  json_object_set(o, "receipt", receipt);
  char *text = json_dumps(o, JSON_INDENT(2));
  int rc = text && write_file(path, text) ? LOG_OK : log_fail("%s: cannot write: %s", path, strerror(errno));
  if (rc == LOG_OK)
    fprintf(stderr, "hvctl: receipt: leaf %" JSON_INTEGER_FORMAT " of the log, saved to %s\n",
            json_integer_value(json_object_get(receipt, "leaf_index")), path);
  free(text);
  json_decref(o);
  json_decref(reply);
  return rc;
}

/* The offline checks of a receipt file; fills the leaf index, its hash and the checkpoint. */
static int receipt_check(json_t *file, const hv_tlog_verifier *v, uint64_t *index,
                         uint8_t leaf_hash[32], hv_tlog_checkpoint *cp) {
  json_t *r = json_object_get(file, "receipt");
  const char *note = json_string_value(json_object_get(r, "checkpoint"));
  const char *leaf_b64 = json_string_value(json_object_get(r, "leaf"));
  const char *hash_b64 = json_string_value(json_object_get(r, "leaf_hash"));
  uint64_t size = 0;
  uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
  size_t n = 0;
  if (!json_is_object(r) || !note || !leaf_b64 || !hash_b64 || !json_u64(r, "leaf_index", index) ||
      !json_u64(r, "tree_size", &size) || !read_proof(json_object_get(r, "inclusion_proof"), proof, &n))
    return log_fail("the receipt file lacks receipt.checkpoint, leaf, leaf_hash, leaf_index, "
                    "tree_size or inclusion_proof, or one is malformed");
  /* 1. The checkpoint is signed by the log key. */
  hv_tlog_status ts = hv_tlog_checkpoint_open(note, strlen(note), v, cp);
  if (ts != HV_TLOG_OK) return log_fail("checkpoint: %s", hv_tlog_status_text(ts));
  if (cp->size != size)
    return log_fail("the receipt's tree_size %" PRIu64 " is not its checkpoint's %" PRIu64, size,
                    cp->size);
  /* 2. The leaf is what it claims, and it is this client's record. */
  uint8_t leaf[HV_AUDIT_LEAF_MAX], claimed[32];
  size_t leaf_len = 0;
  if (!hv_tlog_base64_decode_var(leaf_b64, leaf, sizeof leaf, &leaf_len) ||
      !hv_tlog_base64_decode(hash_b64, claimed, 32))
    return log_fail("the receipt's leaf or leaf_hash is not base64 of the right size");
  hv_tlog_leaf_hash(leaf, leaf_len, leaf_hash);
  if (memcmp(leaf_hash, claimed, 32) != 0) return log_fail("the leaf does not hash to leaf_hash");
  hv_audit_leaf_fields f;
  hv_audit_error aerr;
  if (hv_audit_leaf_decode(leaf, leaf_len, &f, &aerr) != HV_AUDIT_OK)
    return log_fail("%s", aerr.message);
  const struct {
    const char *name, *leaf;
  } fields[] = {{"request_id", f.request_id},
                {"key_id", f.key_id},
                {"result_commitment", f.result_commitment},
                {"program_commitment", f.program_commitment},
                {"arguments_commitment", f.arguments_commitment},
                {"status", f.status}};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    const char *held = json_string_value(json_object_get(file, fields[i].name));
    if (!held) return log_fail("the receipt file lacks %s", fields[i].name);
    if (strcmp(held, fields[i].leaf) != 0)
      return log_fail("the leaf's %s (%s) is not the one this client holds (%s)", fields[i].name,
                      fields[i].leaf, held);
  }
  /* 3. The leaf is in the signed tree. */
  if (hv_tlog_verify_inclusion(*index, cp->size, leaf_hash, (const uint8_t(*)[32])proof, n,
                               cp->root) != HV_TLOG_OK)
    return log_fail("the inclusion proof of leaf %" PRIu64 " in the tree of %" PRIu64
                    " leaves does not verify",
                    *index, cp->size);
  return LOG_OK;
}

static int receipt_verify(const char *server, int argc, char **argv) {
  const char *key = NULL, *file = NULL;
  bool online = false;
  for (int i = 2; i < argc; i++) {
    const char *value = NULL;
    int m;
    if ((m = cli_option(argc, argv, &i, "--log-key", &value)) != 0) {
      if (m < 0 || !value[0]) return log_usage("--log-key needs a verifier key or @FILE");
      key = value;
    } else if (strcmp(argv[i], "--online") == 0) {
      online = true;
    } else if (argv[i][0] == '-') {
      return log_usage("receipt verify: unknown option '%s'", argv[i]);
    } else if (!file) {
      file = argv[i];
    } else {
      return log_usage("receipt verify takes one FILE");
    }
  }
  if (!file) return log_usage("receipt verify: missing FILE");
  if (!key) return log_usage("receipt verify needs the log key: --log-key KEY|@FILE (from GET /v1/log/key, obtained once and kept)");
  hv_tlog_verifier v;
  int rc = read_verifier(key, &v);
  if (rc != LOG_OK) return rc;
  json_error_t jerr;
  json_t *o = json_load_file(file, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(o)) {
    json_decref(o);
    return log_fail("%s: not a receipt file: %s", file, jerr.text);
  }
  uint64_t index = 0;
  uint8_t leaf_hash[32];
  hv_tlog_checkpoint cp;
  rc = receipt_check(o, &v, &index, leaf_hash, &cp);
  if (rc == LOG_OK && online) {
    /* The log now must extend the receipt's tree and still hold the leaf. */
    hv_tlog_checkpoint now;
    rc = fetch_checkpoint(server, &v, &now);
    if (rc == LOG_OK) rc = check_consistency(server, cp.size, cp.root, now.size, now.root);
    if (rc == LOG_OK) {
      char path[128];
      snprintf(path, sizeof path, "/v1/log/proof/inclusion?index=%" PRIu64 "&size=%" PRIu64, index,
               now.size);
      json_t *p = NULL;
      uint8_t proof[HV_TLOG_PROOF_MAX][HV_TLOG_HASH_LEN];
      size_t n = 0;
      rc = get(server, path, &p, NULL, NULL);
      if (rc == LOG_OK && (!read_proof(json_object_get(p, "inclusion_proof"), proof, &n) ||
                           hv_tlog_verify_inclusion(index, now.size, leaf_hash,
                                                    (const uint8_t(*)[32])proof, n,
                                                    now.root) != HV_TLOG_OK))
        rc = log_fail("the log no longer proves leaf %" PRIu64 " in its tree of %" PRIu64 " leaves",
                      index, now.size);
      json_decref(p);
    }
    if (rc == LOG_OK) printf("online: the log's tree of %" PRIu64 " leaves extends the receipt's and holds the leaf\n", now.size);
  }
  if (rc == LOG_OK)
    printf("receipt: verified: request %s is leaf %" PRIu64 " of %s, in its signed tree of %" PRIu64
           " leaves\n",
           json_string_value(json_object_get(o, "request_id")), index, cp.origin, cp.size);
  json_decref(o);
  return rc;
}

int hvctl_receipt_command(const char *server, int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "verify") != 0) return log_usage("receipt: expected 'verify'");
  return receipt_verify(server, argc, argv);
}

/* ---- The monitor ------------------------------------------------------------------------------ */

/* The compact range of the leaves checked so far: one hash per set bit of `count`, largest
 * subtree first (how the monitor recomputes the root from leaf hashes without keeping them). */
typedef struct frontier {
  uint64_t count;
  uint8_t hash[64][HV_TLOG_HASH_LEN];
  uint64_t width[64];
  size_t depth;
} frontier;

static void frontier_push(frontier *f, const uint8_t leaf[32]) {
  memcpy(f->hash[f->depth], leaf, 32);
  f->width[f->depth++] = 1;
  while (f->depth >= 2 && f->width[f->depth - 1] == f->width[f->depth - 2]) {
    hv_tlog_node_hash(f->hash[f->depth - 2], f->hash[f->depth - 1], f->hash[f->depth - 2]);
    f->width[f->depth - 2] *= 2;
    f->depth--;
  }
  f->count++;
}

static void frontier_root(const frontier *f, uint8_t out[32]) {
  if (f->depth == 0) {
    hv_tlog_empty_root(out);
    return;
  }
  memcpy(out, f->hash[f->depth - 1], 32);
  for (size_t i = f->depth - 1; i-- > 0;) hv_tlog_node_hash(f->hash[i], out, out);
}

/* Reads the leaves [f->count, size) page by page: each present leaf must hash to its leaf hash,
 * and the hashes, folded into the frontier, must give `root`. */
static int check_leaves(const char *server, frontier *f, uint64_t size, const uint8_t root[32]) {
  while (f->count < size) {
    char path[128];
    uint64_t end = size - f->count > HV_AUDIT_LOG_PAGE_MAX ? f->count + HV_AUDIT_LOG_PAGE_MAX : size;
    snprintf(path, sizeof path, "/v1/log/leaves?start=%" PRIu64 "&end=%" PRIu64, f->count, end);
    json_t *o = NULL;
    int rc = get(server, path, &o, NULL, NULL);
    if (rc != LOG_OK) return rc;
    json_t *list = json_object_get(o, "leaves");
    size_t n = json_array_size(list);
    if (n == 0) {
      json_decref(o);
      return log_fail("the log lists no leaf at index %" PRIu64, f->count);
    }
    for (size_t k = 0; k < n; k++) {
      json_t *e = json_array_get(list, k);
      uint64_t index = 0;
      uint8_t hash[32];
      const char *hb = json_string_value(json_object_get(e, "leaf_hash"));
      const char *record = json_string_value(json_object_get(e, "record"));
      if (!json_u64(e, "index", &index) || !hb || !hv_tlog_base64_decode(hb, hash, 32)) {
        json_decref(o);
        return log_fail("leaf %" PRIu64 ": malformed entry", f->count);
      }
      if (index != f->count) {
        json_decref(o);
        return log_fail("leaf %" PRIu64 " is missing from the log (the next listed is %" PRIu64 ")",
                        f->count, index);
      }
      if (record && strcmp(record, "invalid") == 0) {
        json_decref(o);
        return log_fail("leaf %" PRIu64 ": its stored record was changed into something invalid", index);
      }
      const char *lb = json_string_value(json_object_get(e, "leaf"));
      if (lb) {
        uint8_t leaf[HV_AUDIT_LEAF_MAX], got[32];
        size_t len = 0;
        if (!hv_tlog_base64_decode_var(lb, leaf, sizeof leaf, &len)) {
          json_decref(o);
          return log_fail("leaf %" PRIu64 ": malformed encoding", index);
        }
        hv_tlog_leaf_hash(leaf, len, got);
        if (memcmp(got, hash, 32) != 0) {
          json_decref(o);
          return log_fail("leaf %" PRIu64 ": the stored record does not match its leaf hash "
                          "(the record was changed after it was logged)",
                          index);
        }
      }
      frontier_push(f, hash);
    }
    json_decref(o);
  }
  uint8_t got[32];
  frontier_root(f, got);
  if (memcmp(got, root, 32) != 0)
    return log_fail("the leaves the log lists do not make its signed root (a leaf hash was "
                    "changed)");
  return LOG_OK;
}

static json_t *b64_json(const uint8_t h[32]) {
  char t[64];
  hv_tlog_base64_encode(h, 32, t);
  return json_string(t);
}

static int monitor(const char *server, int argc, char **argv) {
  const char *state_path = NULL, *key = NULL;
  bool leaves = true, full = false;
  for (int i = 2; i < argc; i++) {
    const char *value = NULL;
    int m;
    if ((m = cli_option(argc, argv, &i, "--state", &value)) != 0) {
      if (m < 0 || !value[0]) return log_usage("--state needs a file");
      state_path = value;
    } else if ((m = cli_option(argc, argv, &i, "--log-key", &value)) != 0) {
      if (m < 0 || !value[0]) return log_usage("--log-key needs a verifier key or @FILE");
      key = value;
    } else if (strcmp(argv[i], "--no-leaves") == 0) {
      leaves = false;
    } else if (strcmp(argv[i], "--full") == 0) {
      full = true;
    } else {
      return log_usage("log monitor: unknown argument '%s'", argv[i]);
    }
  }
  if (!state_path) return log_usage("log monitor needs --state FILE");
  /* The state: the key, the last checkpoint seen, and the leaves checked so far. */
  json_t *state = NULL;
  if (access(state_path, F_OK) == 0) {
    json_error_t jerr;
    state = json_load_file(state_path, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(state)) {
      json_decref(state);
      return log_fail("%s: not a monitor state file: %s", state_path, jerr.text);
    }
  }
  hv_tlog_verifier v;
  int rc = LOG_OK;
  const char *known = json_string_value(json_object_get(state, "log_key"));
  char fetched[HV_TLOG_VERIFIER_KEY_MAX] = "";
  if (key) {
    rc = read_verifier(key, &v);
  } else if (known) {
    rc = read_verifier(known, &v);
  } else {
    json_t *k = NULL;
    rc = get(server, "/v1/log/key", &k, NULL, NULL);
    const char *text = json_string_value(json_object_get(k, "verifier_key"));
    if (rc == LOG_OK && !text) rc = log_fail("GET /v1/log/key: no verifier_key");
    if (rc == LOG_OK) {
      snprintf(fetched, sizeof fetched, "%s", text);
      rc = read_verifier(fetched, &v);
      if (rc == LOG_OK)
        fprintf(stderr, "hvctl: trusting the log key %s on first use\n", fetched);
    }
    json_decref(k);
  }
  /* The key as text, as the state keeps it; a state made with another key is refused. */
  char key_text[HV_TLOG_VERIFIER_KEY_MAX] = "";
  if (rc == LOG_OK) verifier_text(&v, key_text);
  if (rc == LOG_OK && known && strcmp(known, key_text) != 0)
    rc = log_fail("the state file was made with another log key (%s)", known);
  hv_tlog_checkpoint cp;
  if (rc == LOG_OK) rc = fetch_checkpoint(server, &v, &cp);
  uint64_t old_size = 0;
  uint8_t old_root[32] = {0};
  frontier f = {0};
  if (rc == LOG_OK && state) {
    const char *rb = json_string_value(json_object_get(state, "root"));
    json_t *fa = json_object_get(state, "frontier");
    if (!json_u64(state, "size", &old_size) || !rb || !hv_tlog_base64_decode(rb, old_root, 32) ||
        !json_u64(state, "leaves_checked", &f.count) || !json_is_array(fa) ||
        json_array_size(fa) > 64)
      rc = log_fail("%s: malformed monitor state", state_path);
    for (size_t i = 0; rc == LOG_OK && i < json_array_size(fa); i++) {
      json_t *e = json_array_get(fa, i);
      const char *h = json_string_value(json_object_get(e, "hash"));
      if (!h || !hv_tlog_base64_decode(h, f.hash[i], 32) || !json_u64(e, "width", &f.width[i]))
        rc = log_fail("%s: malformed monitor state", state_path);
      f.depth = i + 1;
    }
  }
  if (full) f = (frontier){0}; /* every leaf again, from the first */
  if (rc == LOG_OK) rc = check_consistency(server, old_size, old_root, cp.size, cp.root);
  if (rc == LOG_OK && leaves) rc = check_leaves(server, &f, cp.size, cp.root);
  if (rc == LOG_OK) {
    json_t *o = json_object(), *fa = json_array();
    json_object_set_new(o, "log_key", json_string(key_text));
    json_object_set_new(o, "origin", json_string(cp.origin));
    json_object_set_new(o, "size", json_integer((json_int_t)cp.size));
    json_object_set_new(o, "root", b64_json(cp.root));
    json_object_set_new(o, "leaves_checked", json_integer((json_int_t)f.count));
    for (size_t i = 0; i < f.depth; i++) {
      json_t *e = json_object();
      json_object_set_new(e, "width", json_integer((json_int_t)f.width[i]));
      json_object_set_new(e, "hash", b64_json(f.hash[i]));
      json_array_append_new(fa, e);
    }
    json_object_set_new(o, "frontier", fa);
    char *text = json_dumps(o, JSON_INDENT(2));
    if (!text || !write_file(state_path, text))
      rc = log_fail("%s: cannot write the state: %s", state_path, strerror(errno));
    free(text);
    json_decref(o);
  }
  if (rc == LOG_OK)
    printf("log %s: consistent: tree of %" PRIu64 " leaves (was %" PRIu64 "), %" PRIu64
           " leaves checked\n",
           cp.origin, cp.size, old_size, f.count);
  json_decref(state);
  return rc;
}

int hvctl_log_command(const char *server, int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "monitor") == 0) return monitor(server, argc, argv);
  if (argc == 2 && strcmp(argv[1], "key") == 0) {
    json_t *k = NULL;
    int rc = get(server, "/v1/log/key", &k, NULL, NULL);
    const char *text = json_string_value(json_object_get(k, "verifier_key"));
    if (rc == LOG_OK && !text) rc = log_fail("GET /v1/log/key: no verifier_key");
    if (rc == LOG_OK) printf("%s\n", text);
    json_decref(k);
    return rc;
  }
  return log_usage("log: expected 'key' or 'monitor'");
}
