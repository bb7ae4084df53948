/*
 * test_lifecycle.c: the service across its life: --check-config, the development API key made on
 * first start and kept across restarts, a restart on the same data directory (an earlier
 * request_id still verifies, the same key is current), key rotation and the retention purge under
 * an injected clock (HYPERVISOR_TEST_CLOCK_FILE), and SIGTERM while executions run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "harness.h"
#include "hv_audit.h"

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* A request that fails validation: recorded (so verify and purge have something) without running. */
static void failed_request(ht_server *s, char id[37]) {
  ht_resp r = ht_post(s, "/v1/execute", HT_API_KEY, "{}");
  ht_assert_error(&r, 400, "INVALID_REQUEST");
  snprintf(id, 37, "%s", str(r.json, "request_id"));
  ht_resp_free(&r);
}

static long verify_status(ht_server *s, const char *id) {
  char path[128];
  snprintf(path, sizeof path, "/v1/verify/%s", id);
  ht_resp r = ht_get(s, path, NULL);
  long status = r.status;
  ht_resp_free(&r);
  return status;
}

static void current_key_id(ht_server *s, char out[17]) {
  uint8_t pk[65];
  ht_current_key(s, pk, out);
}

/* ---- --check-config ----------------------------------------------------------------------- */

static void test_check_config(void **state) {
  (void)state;
  char dir[] = "/tmp/hv-check-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char good[128], bad[128], unknown[128];
  snprintf(good, sizeof good, "%s/good.yaml", dir);
  snprintf(bad, sizeof bad, "%s/bad.yaml", dir);
  snprintf(unknown, sizeof unknown, "%s/unknown.yaml", dir);
  FILE *f = fopen(good, "w");
  fputs("server:\n  port: 8080\n", f);
  fclose(f);
  f = fopen(bad, "w");
  fputs("server:\n  port: 70000\n", f);
  fclose(f);
  f = fopen(unknown, "w");
  fputs("server:\n  prot: 8080\n", f);
  fclose(f);

  char *out = NULL, *err = NULL;
  char *a1[] = {HV_SERVE_BIN, "serve", "--check-config", good, NULL};
  assert_int_equal(ht_run(a1, NULL, &out, &err), 0);
  assert_non_null(strstr(out, "ok"));
  free(out);
  free(err);
  char *a2[] = {HV_SERVE_BIN, "serve", "--check-config", bad, NULL};
  assert_int_equal(ht_run(a2, NULL, &out, &err), 1);
  assert_non_null(strstr(err, "server.port"));
  free(out);
  free(err);
  char *a3[] = {HV_SERVE_BIN, "serve", "--check-config", unknown, NULL};
  assert_int_equal(ht_run(a3, NULL, &out, &err), 1);
  assert_non_null(strstr(err, "prot"));
  free(out);
  free(err);
  /* The postgres backend is built in: the check accepts it (it does not connect). */
  char postgres[512];
  snprintf(postgres, sizeof postgres, "%s/postgres.yaml", dir);
  f = fopen(postgres, "w");
  fputs("storage:\n  backend: postgres\n  dsn: \"host=localhost\"\n  connections: 8\n", f);
  fclose(f);
  char *a3b[] = {HV_SERVE_BIN, "serve", "--check-config", postgres, NULL};
  assert_int_equal(ht_run(a3b, NULL, &out, &err), 0);
  free(out);
  free(err);
  /* The same errors stop a start. */
  char *a4[] = {HV_SERVE_BIN, "serve", "--config", bad, NULL};
  assert_int_equal(ht_run(a4, NULL, &out, &err), 1);
  assert_non_null(strstr(err, "server.port"));
  free(out);
  free(err);
  char *a5[] = {HV_SERVE_BIN, "serve", "--bogus", NULL};
  assert_int_equal(ht_run(a5, NULL, &out, &err), 2);
  assert_non_null(strstr(err, "usage:"));
  free(out);
  free(err);
  char *a6[] = {HV_SERVE_BIN, "serve", "--help", NULL};
  assert_int_equal(ht_run(a6, NULL, &out, &err), 0);
  assert_non_null(strstr(out, "usage:"));
  free(out);
  free(err);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* ---- The development key ------------------------------------------------------------------ */

/* The key printed on the terminal: "hvk_" and 64 hex digits. */
static int find_dev_key(const char *out, char key[69]) {
  int count = 0;
  for (const char *p = strstr(out, "hvk_"); p; p = strstr(p + 1, "hvk_")) {
    if (strspn(p + 4, "0123456789abcdef") < 64) continue;
    if (count == 0) snprintf(key, 69, "%.68s", p);
    /* The key appears twice in one banner (the key, and the export line). */
    count++;
  }
  return count;
}

static void test_dev_key(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.no_api_keys = true};
  ht_start(&s, &o);
  /* The key is printed just after the server starts answering (srv_dev_key_publish follows
   * srv_http_start), so a healthy server may not have printed it yet: wait up to 10 s. */
  char key[69] = "";
  int seen = 0;
  for (int tries = 0; tries < 200 && seen == 0; tries++) {
    char *out = ht_read_text(s.out);
    seen = find_dev_key(out, key);
    free(out);
    if (seen == 0) usleep(50 * 1000);
  }
  assert_true(seen >= 1);
  ht_resp r = ht_get(&s, "/metrics", key);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  r = ht_get(&s, "/metrics", HT_API_KEY);
  ht_assert_error(&r, 401, "UNAUTHORIZED");
  ht_resp_free(&r);

  /* Only the hash is stored, owner-only. */
  char path[400];
  snprintf(path, sizeof path, "%s/data/dev-api-key.sha256", s.dir);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  char *stored = ht_read_text(path);
  assert_null(strstr(stored, key + 4));
  assert_int_equal(strlen(stored), 65);
  free(stored);
  char *log = ht_read_text(s.log);
  assert_null(strstr(log, key + 4));
  assert_non_null(strstr(log, "auth.dev_key_created"));
  free(log);

  /* A restart keeps the key and prints nothing new. */
  ht_stop(&s);
  ht_restart(&s);
  char *out = ht_read_text(s.out);
  char again[69];
  assert_int_equal(find_dev_key(out, again), seen);
  free(out);
  r = ht_get(&s, "/metrics", key);
  assert_int_equal(r.status, 200);
  ht_resp_free(&r);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- Restart ------------------------------------------------------------------------------ */

static void test_restart(void **state) {
  (void)state;
  ht_server s;
  ht_start(&s, NULL);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "answer", NULL, &key);
  ht_resp r = ht_execute(&s, req, HT_API_KEY);
  hv_commit_document_free(ht_open_result(&r, key, "answer", wasm, len, NULL, 0));
  char id[37], commitment[65], failed[37], key_id[17];
  snprintf(id, sizeof id, "%s", str(r.json, "request_id"));
  snprintf(commitment, sizeof commitment, "%s", str(r.json, "program_commitment"));
  ht_resp_free(&r);
  failed_request(&s, failed);
  current_key_id(&s, key_id);
  ht_stop(&s);

  ht_restart(&s);
  char key_id2[17];
  current_key_id(&s, key_id2);
  assert_string_equal(key_id, key_id2);
  char path[256];
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=program&hash_value=%s", id, commitment);
  r = ht_get(&s, path, NULL);
  assert_int_equal(r.status, 200);
  assert_true(json_is_true(json_object_get(r.json, "verified")));
  ht_resp_free(&r);
  assert_int_equal(verify_status(&s, failed), 200);

  /* A request sealed to the key from before the restart still decrypts. */
  r = ht_execute(&s, req, HT_API_KEY);
  hv_commit_document_free(ht_open_result(&r, key, "answer", wasm, len, NULL, 0));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  req = ht_exec_request(&s, wasm, len, "answer", NULL, &key);
  r = ht_execute(&s, req, HT_API_KEY);
  hv_commit_document_free(ht_open_result(&r, key, "answer", wasm, len, NULL, 0));
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- Injected clock ----------------------------------------------------------------------- */

typedef struct purge_probe {
  char db[400];
  char id[37];
} purge_probe;

static bool record_gone(void *arg) {
  purge_probe *p = arg;
  hv_audit_store *store = NULL;
  if (hv_audit_open(&hv_audit_sqlite_backend, p->db, NULL, &store, NULL) != HV_AUDIT_OK) return false;
  hv_audit_record rec;
  memset(&rec, 0, sizeof rec);
  hv_audit_status st = hv_audit_get(store, p->id, &rec, NULL);
  hv_audit_record_free(&rec);
  hv_audit_close(store);
  return st == HV_AUDIT_NOT_FOUND;
}

static void test_retention_purge(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.test_clock = true, .retention_days = 7};
  ht_start(&s, &o);
  purge_probe p;
  snprintf(p.db, sizeof p.db, "%s/data/audit.db", s.dir);
  failed_request(&s, p.id);
  assert_int_equal(verify_status(&s, p.id), 200);

  /* Six days later the record is still kept. */
  ht_set_clock(&s, 6 * 86400);
  char newer[37];
  failed_request(&s, newer);
  assert_false(record_gone(&p));
  assert_int_equal(verify_status(&s, p.id), 200);

  /* Eight days after it was made: expired, then purged by the maintenance pass. */
  ht_set_clock(&s, 8 * 86400);
  assert_true(ht_wait_for(record_gone, &p, 30));
  assert_int_equal(verify_status(&s, p.id), 404);
  assert_int_equal(verify_status(&s, newer), 200);
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"event\":\"audit.purged\""));
  free(log);
  ht_stop(&s);
  ht_cleanup(&s);
}

typedef struct rotation_probe {
  ht_server *s;
  char old[17];
  bool want_listed; /* wait until the old key is no longer current, but still listed */
} rotation_probe;

static bool rotated(void *arg) {
  rotation_probe *p = arg;
  ht_resp r = ht_get(p->s, "/v1/keys", NULL);
  bool listed = false, current = false;
  size_t k;
  json_t *e;
  json_array_foreach(json_object_get(r.json, "keys"), k, e) {
    if (strcmp(str(e, "key_id"), p->old) != 0) continue;
    listed = true;
    current = json_is_true(json_object_get(e, "current"));
  }
  ht_resp_free(&r);
  return p->want_listed ? listed && !current : !listed;
}

static void test_key_rotation(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.test_clock = true};
  ht_start(&s, &o);
  rotation_probe p = {.s = &s, .want_listed = true};
  current_key_id(&s, p.old);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&s, wasm, len, "answer", NULL, &key); /* sealed to the old key */

  ht_set_clock(&s, 3600 + 60);
  assert_true(ht_wait_for(rotated, &p, 30));
  char now[17];
  current_key_id(&s, now);
  assert_string_not_equal(now, p.old);
  /* The previous key still decrypts for one more period. */
  ht_resp r = ht_execute(&s, req, HT_API_KEY);
  hv_commit_document_free(ht_open_result(&r, key, "answer", wasm, len, NULL, 0));
  assert_string_equal(str(r.json, "key_id"), p.old);
  ht_resp_free(&r);

  ht_set_clock(&s, 3 * 3600 + 120);
  p.want_listed = false;
  assert_true(ht_wait_for(rotated, &p, 30));
  r = ht_execute(&s, req, HT_API_KEY);
  ht_assert_error(&r, 400, "ENCRYPTION_ERROR");
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  ht_stop(&s);
  ht_cleanup(&s);
}

/* ---- SIGTERM ------------------------------------------------------------------------------ */

typedef struct call {
  ht_server *s;
  json_t *req;
  long status;
  char code[64];
  char id[37];
} call;

static void *call_thread(void *arg) {
  call *c = arg;
  ht_resp r = ht_execute(c->s, c->req, HT_API_KEY);
  c->status = r.status;
  snprintf(c->code, sizeof c->code, "%s", r.json && str(r.json, "error_code") ? str(r.json, "error_code") : "");
  snprintf(c->id, sizeof c->id, "%s", r.json && str(r.json, "request_id") ? str(r.json, "request_id") : "");
  ht_resp_free(&r);
  return NULL;
}

static bool two_active(void *arg) {
  ht_resp r = ht_get(arg, "/health", NULL);
  json_int_t n =
      json_integer_value(json_object_get(json_object_get(r.json, "capacity"), "active_executions"));
  ht_resp_free(&r);
  return n == 2;
}

static void test_sigterm_during_executions(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.max_exec_seconds = 3, .max_concurrent = 2};
  ht_start(&s, &o);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  call calls[2];
  pthread_t threads[2];
  hv_client_key *keys[2];
  for (int k = 0; k < 2; k++) {
    calls[k] = (call){.s = &s};
    calls[k].req = ht_exec_request(&s, wasm, len, "spin", NULL, &keys[k]);
    assert_int_equal(pthread_create(&threads[k], NULL, call_thread, &calls[k]), 0);
  }
  assert_true(ht_wait_for(two_active, &s, 30));
  /* Stop while both run: each still gets its answer, the server exits 0. */
  assert_int_equal(ht_stop_signal(&s, SIGTERM), 0);
  for (int k = 0; k < 2; k++) {
    pthread_join(threads[k], NULL);
    assert_int_equal(calls[k].status, 422);
    assert_string_equal(calls[k].code, "EXECUTION_TIMEOUT");
    json_decref(calls[k].req);
    hv_client_key_free(keys[k]);
  }
  char *log = ht_read_text(s.log);
  assert_non_null(strstr(log, "\"event\":\"server.stopping\""));
  assert_non_null(strstr(log, "\"event\":\"server.stopped\""));
  free(log);
  /* Both answers were recorded before they were sent. */
  ht_restart(&s);
  for (int k = 0; k < 2; k++) assert_int_equal(verify_status(&s, calls[k].id), 200);
  /* SIGINT stops it the same way. */
  assert_int_equal(ht_stop_signal(&s, SIGINT), 0);
  free(wasm);
  ht_cleanup(&s);
}

/* ---- Key-encryption key ------------------------------------------------------------------- */

/* Keys wrapped under crypto.kek_file; a missing, wrong or world-readable KEK stops the start with
 * a message that names the cause; HYPERVISOR_KEK works as well, and not together with the file. */
static void test_kek_start_up(void **state) {
  (void)state;
  char kdir[] = "/tmp/hv-kek-XXXXXX";
  assert_non_null(mkdtemp(kdir));
  char kek[64];
  snprintf(kek, sizeof kek, "%s/kek", kdir);
  ht_write_kek(kek, HT_KEK_A, 0600);
  ht_server s;
  ht_options o = {.kek_file = kek};
  ht_start(&s, &o);
  char key_id[17];
  current_key_id(&s, key_id);
  ht_stop(&s);
  char path[512];
  snprintf(path, sizeof path, "%s/data/keys/%s.key", s.dir, key_id);
  char *text = ht_read_text(path);
  assert_non_null(strstr(text, "wrapped_private_key"));
  free(text);

  ht_write_kek(kek, HT_KEK_B, 0600);
  ht_start_refused(&s, NULL, "does not open with the configured key-encryption key");
  ht_write_kek(kek, HT_KEK_A, 0644);
  ht_start_refused(&s, NULL, "mode 0600");
  assert_int_equal(chmod(kek, 0600), 0);
  ht_start_refused(&s, "HYPERVISOR_KEK=" HT_KEK_A, "both set");
  s.opt.kek_file = NULL;
  ht_write_config(&s);
  ht_start_refused(&s, NULL, "encrypted under a key-encryption key");
  ht_start_refused(&s, "HYPERVISOR_KEK=" HT_KEK_B, "does not open");
  ht_start_refused(&s, "HYPERVISOR_KEK=nothex", "64 hex digits");

  /* The environment variable opens the same ring. */
  assert_int_equal(setenv("HYPERVISOR_KEK", HT_KEK_A, 1), 0);
  ht_restart(&s);
  unsetenv("HYPERVISOR_KEK");
  char key_id2[17];
  current_key_id(&s, key_id2);
  assert_string_equal(key_id, key_id2);
  ht_stop(&s);
  ht_cleanup(&s);
  unlink(kek);
  rmdir(kdir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_config),
      cmocka_unit_test(test_kek_start_up),
      cmocka_unit_test(test_dev_key),
      cmocka_unit_test(test_restart),
      cmocka_unit_test(test_retention_purge),
      cmocka_unit_test(test_key_rotation),
      cmocka_unit_test(test_sigterm_during_executions),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return rc + ht_failures();
}
