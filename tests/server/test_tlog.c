/*
 * test_tlog.c: the transparency log over real HTTP (docs/audit.md, "The transparency log";
 * docs/protocol.md, "Transparency log"). The real server on loopback, driven with libcurl and
 * hvctl; every check is made here with hv_tlog's verification, against the log key the server
 * publishes:
 *
 *   - every 200 carries a receipt that verifies offline (signature, leaf = the reply's
 *     commitments, inclusion), failures are leaves too, the endpoints answer and refuse hostile
 *     parameters with 400s, `hvctl exec --receipt` + `hvctl receipt verify` work and catch a
 *     changed receipt;
 *   - a record edited by hand in the SQLite file is caught by `hvctl log monitor`, a database
 *     rolled back to an earlier copy by the monitor and by `hvctl receipt verify --online`;
 *   - a server killed with SIGKILL under load continues the same tree: the checkpoint taken
 *     before the kill is consistent with the one after, and every receipt answered before the kill
 *     is still proven;
 *   - retention purge keeps the tree verifiable (the hashes stay, the records go);
 *   - with storage.transparency_log: false there is no receipt and no log;
 *   - with a key-encryption key the log key file holds the seed wrapped (a plaintext one is
 *     rewritten wrapped, the same key); without the KEK, or with another, the start is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "hv_audit.h"
#include "hv_tlog.h"

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* The log key the server publishes. */
static void log_verifier(ht_server *s, hv_tlog_verifier *v, char text[HV_TLOG_VERIFIER_KEY_MAX]) {
  ht_resp r = ht_get(s, "/v1/log/key", NULL);
  assert_int_equal(r.status, 200);
  const char *k = str(r.json, "verifier_key");
  assert_non_null(k);
  assert_int_equal(hv_tlog_verifier_key_parse(k, v), HV_TLOG_OK);
  assert_string_equal(str(r.json, "origin"), v->name);
  assert_string_equal(str(r.json, "algorithm"), "ed25519");
  if (text) snprintf(text, HV_TLOG_VERIFIER_KEY_MAX, "%s", k);
  ht_resp_free(&r);
}

static void checkpoint_now(ht_server *s, const hv_tlog_verifier *v, hv_tlog_checkpoint *cp) {
  ht_resp r = ht_get(s, "/v1/log/checkpoint", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.content_type, "text/plain"));
  assert_int_equal(hv_tlog_checkpoint_open(r.body, r.len, v, cp), HV_TLOG_OK);
  ht_resp_free(&r);
}

static void read_proof(json_t *a, uint8_t proof[HV_TLOG_PROOF_MAX][32], size_t *n) {
  assert_true(json_is_array(a));
  assert_true(json_array_size(a) <= HV_TLOG_PROOF_MAX);
  for (size_t i = 0; i < json_array_size(a); i++)
    assert_true(hv_tlog_base64_decode(json_string_value(json_array_get(a, i)), proof[i], 32));
  *n = json_array_size(a);
}

/* Checks a 200's receipt offline; returns its leaf index and fills its hash and checkpoint. */
static uint64_t check_receipt(json_t *reply, const hv_tlog_verifier *v, uint8_t leaf_hash[32],
                              hv_tlog_checkpoint *cp) {
  json_t *r = json_object_get(reply, "receipt");
  assert_true(json_is_object(r));
  const char *note = str(r, "checkpoint");
  assert_non_null(note);
  assert_int_equal(hv_tlog_checkpoint_open(note, strlen(note), v, cp), HV_TLOG_OK);
  assert_string_equal(str(r, "log_origin"), v->name);
  assert_int_equal(json_integer_value(json_object_get(r, "tree_size")), cp->size);
  uint8_t leaf[HV_AUDIT_LEAF_MAX], claimed[32];
  size_t len = 0;
  assert_true(hv_tlog_base64_decode_var(str(r, "leaf"), leaf, sizeof leaf, &len));
  assert_true(hv_tlog_base64_decode(str(r, "leaf_hash"), claimed, 32));
  hv_tlog_leaf_hash(leaf, len, leaf_hash);
  assert_memory_equal(leaf_hash, claimed, 32);
  hv_audit_leaf_fields f;
  assert_int_equal(hv_audit_leaf_decode(leaf, len, &f, NULL), HV_AUDIT_OK);
  assert_string_equal(f.request_id, str(reply, "request_id"));
  assert_string_equal(f.key_id, str(reply, "key_id"));
  assert_string_equal(f.result_commitment, str(reply, "result_commitment"));
  assert_string_equal(f.program_commitment, str(reply, "program_commitment"));
  assert_string_equal(f.arguments_commitment, str(reply, "arguments_commitment"));
  assert_string_equal(f.status, "success");
  assert_true(f.has_gas);
  assert_true(f.gas_used == (uint64_t)json_integer_value(
                                json_object_get(json_object_get(reply, "execution_summary"), "gas_used")));
  uint64_t index = (uint64_t)json_integer_value(json_object_get(r, "leaf_index"));
  uint8_t proof[HV_TLOG_PROOF_MAX][32];
  size_t n = 0;
  read_proof(json_object_get(r, "inclusion_proof"), proof, &n);
  assert_int_equal(hv_tlog_verify_inclusion(index, cp->size, leaf_hash, (const uint8_t(*)[32])proof,
                                            n, cp->root),
                   HV_TLOG_OK);
  return index;
}

/* The server's consistency proof between two checkpoints verifies. */
static void assert_consistent(ht_server *s, const hv_tlog_checkpoint *a, const hv_tlog_checkpoint *b) {
  assert_true(a->size <= b->size);
  if (a->size == b->size) {
    assert_memory_equal(a->root, b->root, 32);
    return;
  }
  char path[128];
  snprintf(path, sizeof path, "/v1/log/proof/consistency?old=%llu&new=%llu",
           (unsigned long long)a->size, (unsigned long long)b->size);
  ht_resp r = ht_get(s, path, NULL);
  assert_int_equal(r.status, 200);
  uint8_t proof[HV_TLOG_PROOF_MAX][32];
  size_t n = 0;
  read_proof(json_object_get(r.json, "consistency_proof"), proof, &n);
  assert_int_equal(hv_tlog_verify_consistency(a->size, b->size, a->root, b->root,
                                              (const uint8_t(*)[32])proof, n),
                   HV_TLOG_OK);
  ht_resp_free(&r);
}

/* The leaf is in the tree of cp (from the server's inclusion endpoint). */
static bool proven_in(ht_server *s, uint64_t index, const uint8_t leaf_hash[32],
                      const hv_tlog_checkpoint *cp) {
  char path[128];
  snprintf(path, sizeof path, "/v1/log/proof/inclusion?index=%llu&size=%llu",
           (unsigned long long)index, (unsigned long long)cp->size);
  ht_resp r = ht_get(s, path, NULL);
  bool ok = false;
  if (r.status == 200) {
    uint8_t proof[HV_TLOG_PROOF_MAX][32];
    size_t n = 0;
    read_proof(json_object_get(r.json, "inclusion_proof"), proof, &n);
    ok = hv_tlog_verify_inclusion(index, cp->size, leaf_hash, (const uint8_t(*)[32])proof, n,
                                  cp->root) == HV_TLOG_OK;
  }
  ht_resp_free(&r);
  return ok;
}

static json_t *execute_add(ht_server *s, const uint8_t *wasm, size_t len, int a, int b) {
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(s, wasm, len, "add", NULL, &key);
  json_object_set_new(req, "arguments", json_pack("[{s:i},{s:i}]", "value", a, "value", b));
  ht_resp r = ht_execute(s, req, HT_API_KEY);
  if (r.status != 200) fail_msg("execute: HTTP %ld: %s", r.status, r.body);
  json_t *out = json_incref(r.json);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  return out;
}

static void sql(const char *path, const char *text) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", text, msg);
  sqlite3_close(db);
}

/* ---- Receipts and endpoints --------------------------------------------------------------- */

static void test_receipts_and_endpoints(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, &(ht_options){0});
  hv_tlog_verifier v;
  char vkey[HV_TLOG_VERIFIER_KEY_MAX];
  log_verifier(&s, &v, vkey);
  hv_tlog_checkpoint empty;
  checkpoint_now(&s, &v, &empty);
  assert_int_equal(empty.size, 0);

  size_t len = 0;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_tlog_checkpoint cps[4];
  uint8_t hashes[4][32];
  for (int i = 0; i < 4; i++) {
    json_t *reply = execute_add(&s, wasm, len, i, 1);
    assert_int_equal(check_receipt(reply, &v, hashes[i], &cps[i]), i);
    assert_int_equal(cps[i].size, i + 1);
    json_decref(reply);
  }
  /* Every checkpoint extends the ones before it; every leaf is proven in every later tree. */
  for (int a = 0; a < 4; a++)
    for (int b = a; b < 4; b++) {
      assert_consistent(&s, &cps[a], &cps[b]);
      assert_true(proven_in(&s, (uint64_t)a, hashes[a], &cps[b]));
      if (a != b) assert_false(proven_in(&s, (uint64_t)a, hashes[b], &cps[b]));
    }

  /* A failure is a leaf too (no receipt in its error reply). */
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "no_such_export", NULL, &key);
  ht_resp r = ht_execute(&s, req, HT_API_KEY);
  assert_int_equal(r.status, 422);
  assert_string_equal(str(r.json, "error_code"), "FUNCTION_NOT_FOUND");
  assert_null(json_object_get(r.json, "receipt"));
  char failed_id[37];
  snprintf(failed_id, sizeof failed_id, "%s", str(r.json, "request_id"));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  r = ht_get(&s, "/v1/log/leaves?start=0&end=10", NULL);
  assert_int_equal(r.status, 200);
  json_t *leaves = json_object_get(r.json, "leaves");
  assert_int_equal(json_array_size(leaves), 5);
  json_t *last = json_array_get(leaves, 4);
  assert_string_equal(str(last, "record"), "present");
  uint8_t leaf[HV_AUDIT_LEAF_MAX];
  size_t leaf_len = 0;
  assert_true(hv_tlog_base64_decode_var(str(last, "leaf"), leaf, sizeof leaf, &leaf_len));
  hv_audit_leaf_fields f;
  assert_int_equal(hv_audit_leaf_decode(leaf, leaf_len, &f, NULL), HV_AUDIT_OK);
  assert_string_equal(f.request_id, failed_id);
  assert_string_equal(f.status, "FUNCTION_NOT_FOUND");
  assert_string_equal(f.result_commitment, "");
  ht_resp_free(&r);

  /* Hostile and out-of-range parameters: 400 with a message, and the server stays up. */
  static const char *const bad[] = {
      "/v1/log/proof/inclusion",
      "/v1/log/proof/inclusion?index=0",
      "/v1/log/proof/inclusion?index=0&size=0",
      "/v1/log/proof/inclusion?index=5&size=5",
      "/v1/log/proof/inclusion?index=0&size=6",
      "/v1/log/proof/inclusion?index=-1&size=3",
      "/v1/log/proof/inclusion?index=01&size=3",
      "/v1/log/proof/inclusion?index=1e3&size=3",
      "/v1/log/proof/inclusion?index=0&size=18446744073709551616",
      "/v1/log/proof/inclusion?index=0&size=9223372036854775807",
      "/v1/log/proof/inclusion?index=0&size=3&index=1",
      "/v1/log/proof/inclusion?index=0&size=3&extra=1",
      "/v1/log/proof/inclusion?index=&size=3",
      "/v1/log/proof/consistency?old=0&new=3",
      "/v1/log/proof/consistency?old=4&new=3",
      "/v1/log/proof/consistency?old=1&new=99",
      "/v1/log/proof/consistency?old=%00&new=3",
      "/v1/log/leaves?start=5&end=9",
      "/v1/log/leaves?start=2&end=2",
      "/v1/log/leaves?start=3&end=1",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r = ht_get(&s, bad[i], NULL);
    if (r.status != 400) fail_msg("%s: HTTP %ld: %s", bad[i], r.status, r.body);
    ht_assert_error(&r, 400, "INVALID_REQUEST");
    ht_resp_free(&r);
  }
  /* A large range is cut to one page; the method is checked. */
  r = ht_get(&s, "/v1/log/leaves?start=1&end=9223372036854775807", NULL);
  assert_int_equal(r.status, 200);
  assert_int_equal(json_integer_value(json_object_get(r.json, "end")), 5);
  ht_resp_free(&r);
  r = ht_http(&s, &(ht_req){.method = "POST", .path = "/v1/log/checkpoint", .body = "{}"});
  assert_int_equal(r.status, 405);
  ht_resp_free(&r);
  r = ht_get(&s, "/health", NULL);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);

  /* hvctl: exec --receipt, then verify it offline; a changed receipt file fails. */
  char add_path[512], rfile[320], kfile[320], changed[320];
  snprintf(add_path, sizeof add_path, "%s/add.wasm", HV_SERVER_WASM_DIR);
  snprintf(rfile, sizeof rfile, "%s/receipt.json", s.dir);
  snprintf(kfile, sizeof kfile, "%s/log.key", s.dir);
  snprintf(changed, sizeof changed, "%s/changed.json", s.dir);
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", s.url, "--api-key",
                                               HT_API_KEY, "exec", "--invoke", "add", "--receipt",
                                               rfile, add_path, "40", "2", NULL},
                         NULL, NULL),
                   0);
  char *out = NULL;
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", s.url, "log", "key", NULL},
                         &out, NULL),
                   0);
  FILE *kf = fopen(kfile, "w");
  fputs(out, kf);
  fclose(kf);
  assert_string_equal(strtok(out, "\n"), vkey);
  free(out);
  char keyarg[330];
  snprintf(keyarg, sizeof keyarg, "@%s", kfile);
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "receipt", "verify", "--log-key",
                                               keyarg, rfile, NULL},
                         &out, NULL),
                   0);
  assert_non_null(strstr(out, "receipt: verified"));
  free(out);
  json_t *rj = json_load_file(rfile, 0, NULL);
  assert_non_null(rj);
  json_object_set_new(rj, "result_commitment",
                      json_string("00000000000000000000000000000000000000000000000000000000000000ff"));
  assert_int_equal(json_dump_file(rj, changed, 0), 0);
  json_decref(rj);
  char *err = NULL;
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "receipt", "verify", "--log-key",
                                               keyarg, changed, NULL},
                         NULL, &err),
                   1);
  assert_non_null(strstr(err, "result_commitment"));
  free(err);
  /* Another log key: the signature check fails. */
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "receipt", "verify", "--log-key",
                                               "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
                                               rfile, NULL},
                         NULL, &err),
                   1);
  assert_non_null(strstr(err, "checkpoint"));
  free(err);

  /* The log key survives a restart: the same verifier key. */
  ht_stop(&s);
  ht_restart(&s);
  char again[HV_TLOG_VERIFIER_KEY_MAX];
  log_verifier(&s, &v, again);
  assert_string_equal(again, vkey);
  hv_tlog_checkpoint now;
  checkpoint_now(&s, &v, &now);
  assert_int_equal(now.size, 6);
  assert_consistent(&s, &cps[3], &now);
  free(wasm);
  ht_cleanup(&s);
}

/* ---- Tampering: an edited record, a rolled-back database ---------------------------------- */

static void test_tampering_is_detected(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, &(ht_options){0});
  char add_path[512], db[320], copy[320], statef[320], fresh[320], rfile[320];
  snprintf(add_path, sizeof add_path, "%s/add.wasm", HV_SERVER_WASM_DIR);
  snprintf(db, sizeof db, "%s/data/audit.db", s.dir);
  snprintf(copy, sizeof copy, "%s/audit.db.copy", s.dir);
  snprintf(statef, sizeof statef, "%s/monitor.json", s.dir);
  snprintf(fresh, sizeof fresh, "%s/monitor-fresh.json", s.dir);
  snprintf(rfile, sizeof rfile, "%s/receipt.json", s.dir);
  const char *const exec_argv[] = {HV_HVCTL_BIN, "--server", s.url, "--api-key", HT_API_KEY, "exec",
                                   "--invoke", "add", add_path, "1", "2", NULL};
  for (int i = 0; i < 4; i++) assert_int_equal(ht_hvctl(exec_argv, NULL, NULL), 0);
  const char *const monitor_argv[] = {HV_HVCTL_BIN, "--server", s.url, "log", "monitor", "--state",
                                      statef, NULL};
  assert_int_equal(ht_hvctl(monitor_argv, NULL, NULL), 0);

  /* A copy of the database with 4 leaves, for the rollback later. */
  ht_stop(&s);
  char cmd[1600];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", db, copy);
  assert_int_equal(system(cmd), 0);
  ht_restart(&s);
  for (int i = 0; i < 2; i++) assert_int_equal(ht_hvctl(exec_argv, NULL, NULL), 0);
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", s.url, "--api-key",
                                               HT_API_KEY, "exec", "--invoke", "add", "--receipt",
                                               rfile, add_path, "5", "6", NULL},
                         NULL, NULL),
                   0);
  assert_int_equal(ht_hvctl(monitor_argv, NULL, NULL), 0);
  char *out = NULL, *err = NULL;
  assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", s.url, "log", "key", NULL},
                         &out, NULL),
                   0);
  char vkey[HV_TLOG_VERIFIER_KEY_MAX];
  snprintf(vkey, sizeof vkey, "%s", strtok(out, "\n"));
  free(out);
  const char *const online_argv[] = {HV_HVCTL_BIN, "--server", s.url, "receipt", "verify",
                                     "--log-key", vkey, "--online", rfile, NULL};
  assert_int_equal(ht_hvctl(online_argv, NULL, NULL), 0);

  /* 1. A record edited by hand: its leaf no longer matches it. */
  ht_stop(&s);
  sql(db, "UPDATE audit_records SET result_commitment = "
          "'00000000000000000000000000000000000000000000000000000000000000ff' "
          "WHERE request_id = (SELECT request_id FROM log_leaves WHERE idx = 2)");
  ht_restart(&s);
  const char *const full_argv[] = {HV_HVCTL_BIN, "--server", s.url, "log", "monitor", "--state",
                                   fresh, "--log-key", vkey, NULL};
  assert_int_equal(ht_hvctl(full_argv, NULL, &err), 1);
  assert_non_null(strstr(err, "leaf 2: the stored record does not match its leaf hash"));
  free(err);

  /* 2. A leaf's hash edited by hand (with its record, so the two agree): the leaves no longer
   * make the signed root. */
  ht_stop(&s);
  sql(db, "DELETE FROM audit_records WHERE request_id = (SELECT request_id FROM log_leaves WHERE idx = 2);"
          "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 0 AND idx = 2");
  ht_restart(&s);
  assert_int_equal(ht_hvctl(full_argv, NULL, &err), 1);
  assert_non_null(strstr(err, "do not make its signed root"));
  free(err);

  /* 3. A leaf deleted by hand: the log has a gap. */
  ht_stop(&s);
  sql(db, "DELETE FROM log_nodes WHERE level = 0 AND idx = 3");
  ht_restart(&s);
  assert_int_equal(ht_hvctl(full_argv, NULL, &err), 1);
  assert_non_null(strstr(err, "leaf 3 is missing"));
  free(err);

  /* 4. The database put back to the copy with 4 leaves: the monitor, which saw 7, and the
   * receipt of leaf 6 both fail. */
  ht_stop(&s);
  snprintf(cmd, sizeof cmd, "cp '%s' '%s' && rm -f '%s-wal' '%s-shm'", copy, db, db, db);
  assert_int_equal(system(cmd), 0);
  ht_restart(&s);
  assert_int_equal(ht_hvctl(monitor_argv, NULL, &err), 1);
  assert_non_null(strstr(err, "ROLLBACK"));
  free(err);
  assert_int_equal(ht_hvctl(online_argv, NULL, &err), 1);
  assert_non_null(strstr(err, "ROLLBACK"));
  free(err);
  /* Offline the receipt still verifies: it is the client's proof of what the log said. */
  const char *const offline_argv[] = {HV_HVCTL_BIN, "receipt", "verify", "--log-key", vkey, rfile, NULL};
  assert_int_equal(ht_hvctl(offline_argv, NULL, NULL), 0);
  ht_cleanup(&s);
}

/* ---- SIGKILL under load ------------------------------------------------------------------- */

#define CLIENTS 4
#define MAX_ANSWERS 20000

typedef struct load {
  ht_server *s;
  char *body;
  atomic_bool stop;
  pthread_mutex_t mu;
  json_t *answers; /* the 200s' bodies */
} load;

/* Keeps every 200's body; a transport error (the server is gone) stops the client. */
static bool on_answer(void *ctx, const ht_load_answer *r) {
  load *l = ctx;
  if (!r->ok) return false;
  json_t *j = r->status == 200 && r->body ? json_loadb(r->body, r->len, 0, NULL) : NULL;
  if (j) {
    pthread_mutex_lock(&l->mu);
    if (json_array_size(l->answers) < MAX_ANSWERS) json_array_append(l->answers, j);
    pthread_mutex_unlock(&l->mu);
    json_decref(j);
  }
  return true;
}

static void *client(void *arg) {
  load *l = arg;
  ht_load_client(l->s, &l->body, 1, &l->stop, on_answer, l);
  return NULL;
}

static void test_sigkill_under_load(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, &(ht_options){.rps = 1000000, .burst = 1000000});
  hv_tlog_verifier v;
  log_verifier(&s, &v, NULL);
  size_t len = 0;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "add", NULL, &key);
  json_object_set_new(req, "arguments", json_pack("[{s:i},{s:i}]", "value", 2, "value", 3));
  load l = {.s = &s, .body = json_dumps(req, JSON_COMPACT), .answers = json_array()};
  pthread_mutex_init(&l.mu, NULL);
  pthread_t t[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) assert_int_equal(pthread_create(&t[i], NULL, client, &l), 0);
  usleep(500 * 1000);
  hv_tlog_checkpoint before;
  checkpoint_now(&s, &v, &before);
  usleep(700 * 1000);
  assert_int_equal(ht_stop_signal(&s, SIGKILL), -1);
  atomic_store(&l.stop, true);
  for (int i = 0; i < CLIENTS; i++) pthread_join(t[i], NULL);
  size_t answered = json_array_size(l.answers);
  print_message("load: %zu answers before the kill; checkpoint before at %llu leaves\n", answered,
                (unsigned long long)before.size);
  assert_true(answered > 0);
  assert_true(before.size > 0);

  ht_restart(&s);
  hv_tlog_verifier v2;
  log_verifier(&s, &v2, NULL);
  assert_memory_equal(v2.public_key, v.public_key, 32);
  json_decref(execute_add(&s, wasm, len, 7, 8)); /* the tree goes on */
  hv_tlog_checkpoint after;
  checkpoint_now(&s, &v, &after);
  assert_true(after.size > before.size);
  assert_true(after.size >= answered + 1);
  assert_consistent(&s, &before, &after);
  /* Every receipt answered before the kill verifies, and its leaf is in the tree after. */
  for (size_t i = 0; i < answered; i++) {
    uint8_t h[32];
    hv_tlog_checkpoint cp;
    uint64_t index = check_receipt(json_array_get(l.answers, i), &v, h, &cp);
    assert_true(cp.size <= after.size);
    if (i % 7 == 0 || i == answered - 1) {
      assert_consistent(&s, &cp, &after);
      assert_true(proven_in(&s, index, h, &after));
    }
  }
  json_decref(l.answers);
  free(l.body);
  json_decref(req);
  hv_client_key_free(key);
  pthread_mutex_destroy(&l.mu);
  free(wasm);
  ht_cleanup(&s);
}

/* ---- Retention purge ------------------------------------------------------------------------ */

typedef struct purged_arg {
  const char *db;
} purged_arg;

static bool records_gone(void *arg) {
  purged_arg *p = arg;
  sqlite3 *db = NULL;
  if (sqlite3_open_v2(p->db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return false;
  }
  sqlite3_stmt *st = NULL;
  bool gone = false;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM audit_records", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    gone = sqlite3_column_int(st, 0) == 0;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return gone;
}

static void test_purge_keeps_the_tree(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, &(ht_options){.test_clock = true, .retention_days = 1});
  hv_tlog_verifier v;
  char vkey[HV_TLOG_VERIFIER_KEY_MAX];
  log_verifier(&s, &v, vkey);
  size_t len = 0;
  uint8_t *wasm = ht_wasm("add", &len);
  uint8_t h[3][32];
  hv_tlog_checkpoint cp[3];
  uint64_t idx[3];
  for (int i = 0; i < 3; i++) {
    json_t *reply = execute_add(&s, wasm, len, i, i);
    idx[i] = check_receipt(reply, &v, h[i], &cp[i]);
    json_decref(reply);
  }
  char statef[320], db[320];
  snprintf(statef, sizeof statef, "%s/monitor.json", s.dir);
  snprintf(db, sizeof db, "%s/data/audit.db", s.dir);
  const char *const monitor_argv[] = {HV_HVCTL_BIN, "--server", s.url, "log", "monitor", "--state",
                                      statef, "--log-key", vkey, "--full", NULL};
  assert_int_equal(ht_hvctl(monitor_argv, NULL, NULL), 0);

  /* Two days later the records are purged. */
  ht_set_clock(&s, 2 * 86400);
  purged_arg p = {.db = db};
  assert_true(ht_wait_for(records_gone, &p, 20));
  ht_resp r = ht_get(&s, "/v1/log/leaves?start=0&end=3", NULL);
  assert_int_equal(r.status, 200);
  json_t *e;
  size_t k;
  json_array_foreach(json_object_get(r.json, "leaves"), k, e) {
    assert_string_equal(str(e, "record"), "absent");
    assert_true(json_is_null(json_object_get(e, "leaf")));
    uint8_t lh[32];
    assert_true(hv_tlog_base64_decode(str(e, "leaf_hash"), lh, 32));
    assert_memory_equal(lh, h[k], 32);
  }
  ht_resp_free(&r);
  /* The tree is as it was, every leaf still proven, the monitor (all leaves again) content. */
  hv_tlog_checkpoint now;
  checkpoint_now(&s, &v, &now);
  assert_int_equal(now.size, 3);
  assert_memory_equal(now.root, cp[2].root, 32);
  for (int i = 0; i < 3; i++) assert_true(proven_in(&s, idx[i], h[i], &now));
  assert_int_equal(ht_hvctl(monitor_argv, NULL, NULL), 0);
  /* And it grows on. */
  json_t *reply = execute_add(&s, wasm, len, 9, 9);
  uint8_t h4[32];
  hv_tlog_checkpoint cp4;
  assert_int_equal(check_receipt(reply, &v, h4, &cp4), 3);
  json_decref(reply);
  assert_consistent(&s, &now, &cp4);
  assert_int_equal(ht_hvctl(monitor_argv, NULL, NULL), 0);
  free(wasm);
  ht_cleanup(&s);
}

/* ---- The switch ----------------------------------------------------------------------------- */

static void test_log_off(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, &(ht_options){.transparency_log_off = true});
  size_t len = 0;
  uint8_t *wasm = ht_wasm("add", &len);
  json_t *reply = execute_add(&s, wasm, len, 1, 1);
  assert_null(json_object_get(reply, "receipt"));
  json_decref(reply);
  ht_resp r = ht_get(&s, "/v1/log/checkpoint", NULL);
  ht_assert_error(&r, 404, "NOT_FOUND");
  assert_non_null(strstr(str(r.json, "message"), "transparency_log"));
  ht_resp_free(&r);
  free(wasm);
  ht_cleanup(&s);
}

/* ---- The log key under a KEK ------------------------------------------------------------------ */

/* The log key file's bytes (at most 128) into buf; its length. */
static size_t read_log_key(ht_server *s, uint8_t buf[128]) {
  char path[512];
  snprintf(path, sizeof path, "%s/data/log-ed25519.key", s->dir);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t n = fread(buf, 1, 128, f);
  fclose(f);
  return n;
}

/* Removes the HPKE key files, so that a start with another KEK (or none) makes a new ring and
 * gets as far as the log key. */
static void drop_hpke_keys(ht_server *s) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -f '%s'/data/keys/*.key", s->dir);
  assert_int_equal(system(cmd), 0);
}

static void test_log_key_wrapped_under_kek(void **state) {
  (void)state;
  char kdir[] = "/tmp/hv-tlog-kek-XXXXXX";
  assert_non_null(mkdtemp(kdir));
  char kek[64];
  snprintf(kek, sizeof kek, "%s/kek", kdir);
  ht_write_kek(kek, HT_KEK_A, 0600);

  /* Without a KEK: "HVLK", version 1, protection 0, the 32-byte seed as it is. */
  ht_server s;
  ht_start(&s, NULL);
  hv_tlog_verifier v;
  char first[HV_TLOG_VERIFIER_KEY_MAX];
  log_verifier(&s, &v, first);
  ht_stop(&s);
  uint8_t plain[128], wrapped[128];
  assert_int_equal(read_log_key(&s, plain), 38);
  assert_memory_equal(plain, "HVLK\x01\x00", 6);

  /* With one: the same key, now wrapped (protection 1, 32 + 29 bytes), the seed gone from disk. */
  s.opt.kek_file = kek;
  ht_write_config(&s);
  ht_restart(&s);
  char second[HV_TLOG_VERIFIER_KEY_MAX];
  log_verifier(&s, &v, second);
  assert_string_equal(first, second);
  hv_tlog_checkpoint cp;
  checkpoint_now(&s, &v, &cp);
  ht_stop(&s);
  assert_int_equal(read_log_key(&s, wrapped), 67);
  assert_memory_equal(wrapped, "HVLK\x01\x01", 6);
  assert_null(memmem(wrapped, 67, plain + 6, 32));

  /* And again: it opens under the same KEK and stays as it is. */
  ht_restart(&s);
  log_verifier(&s, &v, second);
  assert_string_equal(first, second);
  ht_stop(&s);
  uint8_t again[128];
  assert_int_equal(read_log_key(&s, again), 67);
  assert_memory_equal(again, wrapped, 67);

  /* Another KEK (with a fresh HPKE ring, so that only the log key stands in the way), or none. */
  drop_hpke_keys(&s);
  ht_write_kek(kek, HT_KEK_B, 0600);
  ht_start_refused(&s, NULL, "the log key does not open with this key-encryption key");
  drop_hpke_keys(&s);
  s.opt.kek_file = NULL;
  ht_write_config(&s);
  ht_start_refused(&s, NULL, "the log key is wrapped under a key-encryption key");
  assert_int_equal(read_log_key(&s, again), 67);
  assert_memory_equal(again, wrapped, 67); /* refused, never replaced */
  ht_cleanup(&s);
  unlink(kek);
  rmdir(kdir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_receipts_and_endpoints),
      cmocka_unit_test(test_tampering_is_detected),
      cmocka_unit_test(test_sigkill_under_load),
      cmocka_unit_test(test_purge_keeps_the_tree),
      cmocka_unit_test(test_log_off),
      cmocka_unit_test(test_log_key_wrapped_under_kek),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return rc + ht_failures();
}
