/*
 * test_postgres.c: the real server with `storage: {backend: postgres}` on a real PostgreSQL that
 * scripts/pg-temp.sh starts (HV_TEST_PG_DSN, HV_TEST_PG_DIR; ctest runs this under it).
 *
 *   - three servers share one key ring and one audit log: keys fetched from A, the request
 *     executed on B, verified on C; without a KEK a node does not start;
 *   - two servers append to one transparency log and sign with one key: receipts from either
 *     verify offline against the key either publishes, `hvctl receipt verify --online` on the
 *     other server proves them, and one monitor state follows the tree through both;
 *   - /health names the backend, and says why when the database is down;
 *   - the database crashes (immediate shutdown) and comes back while clients keep sending: no
 *     200 is answered while it is down (every refusal then is 503 CAPACITY_EXCEEDED with
 *     Retry-After), every 200 verifies afterwards, and the server recovers
 *     without a restart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CLIENTS 2
#define KEK_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define MAX_ANSWERS 20000

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

static char g_storage[1024];
static char g_kek[64]; /* every node's KEK file */

static void start_node(ht_server *s) {
  ht_options o = {.storage = g_storage, .kek_file = g_kek};
  ht_start(s, &o);
}

/* GET /v1/verify/{id}?commitment_type=program&hash_value=... : the status, and whether verified. */
static long verify(ht_server *s, const char *id, const char *program_commitment, bool *verified) {
  char path[256];
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=program&hash_value=%s", id,
           program_commitment);
  ht_resp r = ht_get(s, path, NULL);
  long status = r.status;
  *verified = r.json != NULL && json_is_true(json_object_get(r.json, "verified"));
  ht_resp_free(&r);
  return status;
}

/* Three nodes on one database: keys fetched from A, the request executed on B, verified on C. */
static void test_three_nodes_one_key_ring_one_audit_log(void **state) {
  (void)state;
  ht_server a, b, c;
  start_node(&a);
  start_node(&b);
  start_node(&c);
  ht_resp h = ht_get(&b, "/health", NULL);
  assert_int_equal(h.status, 200);
  assert_string_equal(str(h.json, "storage_backend"), "postgres");
  ht_resp_free(&h);
  uint8_t pk_a[65], pk_c[65];
  char id_a[17], id_c[17];
  ht_current_key(&a, pk_a, id_a);
  ht_current_key(&c, pk_c, id_c);
  assert_string_equal(id_a, id_c); /* one ring */

  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  json_t *req = ht_exec_request(&a, wasm, len, "answer", NULL, &key);
  ht_resp r = ht_execute(&b, req, HT_API_KEY);
  hv_commit_document_free(ht_open_result(&r, key, "answer", wasm, len, NULL, 0));
  bool verified = false;
  assert_int_equal(verify(&c, str(r.json, "request_id"), str(r.json, "program_commitment"),
                          &verified),
                   200);
  assert_true(verified);
  ht_resp_free(&r);
  json_decref(req);
  hv_client_key_free(key);
  free(wasm);
  ht_stop(&a);
  ht_stop(&b);
  ht_stop(&c);
  ht_cleanup(&a);
  ht_cleanup(&b);
  ht_cleanup(&c);
}

/* Two servers, one log: one key, one growing tree, receipts from either proven by the other. */
static void test_two_nodes_one_transparency_log(void **state) {
  (void)state;
  ht_server a, b;
  start_node(&a);
  start_node(&b);
  ht_resp ka = ht_get(&a, "/v1/log/key", NULL), kb = ht_get(&b, "/v1/log/key", NULL);
  assert_int_equal(ka.status, 200);
  assert_int_equal(kb.status, 200);
  assert_string_equal(str(ka.json, "verifier_key"), str(kb.json, "verifier_key"));
  assert_string_equal(str(ka.json, "origin"), str(kb.json, "origin"));
  char keyarg[600];
  snprintf(keyarg, sizeof keyarg, "%s", str(ka.json, "verifier_key"));
  ht_resp_free(&ka);
  ht_resp_free(&kb);

  /* Receipts from A, B, A: leaves in that order of one tree. */
  char add_path[512], receipts[3][320], state_file[320];
  snprintf(add_path, sizeof add_path, "%s/add.wasm", HV_SERVER_WASM_DIR);
  snprintf(state_file, sizeof state_file, "%s/monitor.json", a.dir);
  ht_server *on[3] = {&a, &b, &a};
  long long index[3];
  for (int i = 0; i < 3; i++) {
    snprintf(receipts[i], sizeof receipts[i], "%s/receipt-%d.json", a.dir, i);
    assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", on[i]->url,
                                                    "--api-key", HT_API_KEY, "exec", "--invoke",
                                                    "add", "--receipt", receipts[i], add_path,
                                                    "40", "2", NULL},
                              NULL, NULL),
                     0);
    json_t *rj = json_load_file(receipts[i], 0, NULL);
    assert_non_null(rj);
    index[i] = json_integer_value(json_object_get(json_object_get(rj, "receipt"), "leaf_index"));
    json_decref(rj);
    if (i > 0) assert_true(index[i] > index[i - 1]);
  }
  /* Each verifies offline against the one key, and online against the other server. */
  for (int i = 0; i < 3; i++) {
    ht_server *other = on[i] == &a ? &b : &a;
    assert_int_equal(ht_hvctl((const char *const[]){HV_HVCTL_BIN, "receipt", "verify", "--log-key",
                                                    keyarg, receipts[i], NULL},
                              NULL, NULL),
                     0);
    char *err = NULL;
    int rc = ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", other->url, "receipt",
                                            "verify", "--log-key", keyarg, "--online", receipts[i],
                                            NULL},
                      NULL, &err);
    if (rc != 0) fail_msg("receipt %d online on the other node: %s", i, err);
    free(err);
  }
  /* One monitor state, fed by A then B then A: always consistent, every leaf checked. */
  for (int i = 0; i < 3; i++) {
    char *err = NULL;
    int rc = ht_hvctl((const char *const[]){HV_HVCTL_BIN, "--server", on[i]->url, "log",
                                            "monitor", "--state", state_file, "--log-key", keyarg,
                                            NULL},
                      NULL, &err);
    if (rc != 0) fail_msg("monitor via node %d: %s", i, err);
    free(err);
  }
  /* B's checkpoint covers A's last leaf though B appended nothing since. */
  ht_resp cp = ht_get(&b, "/v1/log/checkpoint", NULL);
  assert_int_equal(cp.status, 200);
  char *size_line = strchr(cp.body, '\n');
  assert_non_null(size_line);
  assert_true(strtoll(size_line + 1, NULL, 10) > index[2]);
  ht_resp_free(&cp);
  ht_stop(&a);
  ht_stop(&b);
  ht_cleanup(&a);
  ht_cleanup(&b);
}

/* storage postgres shares the key ring, which needs a KEK: without one the start is refused. */
static void test_postgres_needs_a_kek(void **state) {
  (void)state;
  ht_server s;
  ht_options o = {.storage = g_storage};
  ht_prepare(&s, &o);
  char *out = NULL, *err = NULL;
  char *argv[] = {HV_SERVE_BIN, "serve", "--config", s.config, NULL};
  assert_int_equal(ht_run(argv, NULL, &out, &err), 1);
  if (strstr(err, "key-encryption key") == NULL) fail_msg("unexpected: %s", err);
  free(out);
  free(err);
  ht_cleanup(&s);
}

typedef struct answer {
  char request_id[37];
  char program_commitment[65];
} answer;

typedef struct load {
  ht_server *s;
  json_t *request;
  atomic_bool stop;
  atomic_bool database_down; /* set by the main thread after the kill, cleared before the start */
  pthread_mutex_t mu;
  answer *answers;
  size_t count;
  atomic_ulong refused;          /* non-200 answers */
  atomic_ulong ok_while_down;    /* 200s answered while the database was down: must stay 0 */
  atomic_ulong other_while_down; /* refusals while down that were not 503 CAPACITY_EXCEEDED */
} load;

static void *client(void *arg) {
  load *l = arg;
  while (!atomic_load(&l->stop)) {
    bool down_before = atomic_load(&l->database_down);
    ht_resp r = ht_execute(l->s, l->request, HT_API_KEY);
    bool down_after = atomic_load(&l->database_down);
    if (r.status == 200 && r.json != NULL) {
      /* Down during the whole request: its record cannot have been committed. */
      if (down_before && down_after) atomic_fetch_add(&l->ok_while_down, 1);
      pthread_mutex_lock(&l->mu);
      if (l->count < MAX_ANSWERS) {
        answer *a = &l->answers[l->count++];
        snprintf(a->request_id, sizeof a->request_id, "%s", str(r.json, "request_id"));
        snprintf(a->program_commitment, sizeof a->program_commitment, "%s",
                 str(r.json, "program_commitment"));
      }
      pthread_mutex_unlock(&l->mu);
    } else {
      atomic_fetch_add(&l->refused, 1);
      /* While it is down the service refuses work with 503 and Retry-After, as when full. */
      const char *code = r.json ? str(r.json, "error_code") : NULL;
      if (down_before && down_after &&
          (r.status != 503 || code == NULL || strcmp(code, "CAPACITY_EXCEEDED") != 0 ||
           strcmp(r.retry_after, "5") != 0))
        atomic_fetch_add(&l->other_while_down, 1);
      usleep(5 * 1000); /* refused at once: do not spin on two shared cores */
    }
    ht_resp_free(&r);
  }
  return NULL;
}

static void pg_server(const char *action) {
  const char *dir = getenv("HV_TEST_PG_DIR");
  if (dir == NULL) fail_msg("HV_TEST_PG_DIR is not set (run under scripts/pg-temp.sh run)");
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null", HV_PG_TEMP, action, dir);
  assert_int_equal(system(cmd), 0);
}

static long health(ht_server *s, char *error, size_t cap) {
  ht_resp h = ht_get(s, "/health", NULL);
  long status = h.status;
  const char *e = h.json ? str(h.json, "storage_error") : NULL;
  snprintf(error, cap, "%s", e ? e : "");
  ht_resp_free(&h);
  return status;
}

static void test_database_restart_under_load(void **state) {
  (void)state;
  ht_server s;
  start_node(&s);
  size_t len;
  uint8_t *wasm = ht_wasm("add", &len);
  hv_client_key *key = NULL;
  load l = {.s = &s, .request = ht_exec_request(&s, wasm, len, "answer", NULL, &key)};
  l.answers = calloc(MAX_ANSWERS, sizeof *l.answers);
  assert_non_null(l.answers);
  pthread_mutex_init(&l.mu, NULL);
  pthread_t th[CLIENTS];
  for (int i = 0; i < CLIENTS; i++) assert_int_equal(pthread_create(&th[i], NULL, client, &l), 0);

  usleep(500 * 1000);
  pg_server("kill"); /* returns once the postmaster is gone */
  atomic_store(&l.database_down, true);
  /* /health turns 503 and says why (its probe is cached for a second). */
  char why[128];
  double end = ht_now() + 10;
  while (health(&s, why, sizeof why) != 503 && ht_now() < end) usleep(100 * 1000);
  assert_int_equal(health(&s, why, sizeof why), 503);
  assert_string_equal(why, "the audit database cannot be reached");
  unsigned long refused_before = atomic_load(&l.refused);
  usleep(1000 * 1000);
  assert_true(atomic_load(&l.refused) > refused_before); /* requests were refused, not queued */
  atomic_store(&l.database_down, false); /* before it can accept anything */
  pg_server("start");
  /* Back without a restart of the server. */
  end = ht_now() + 30;
  while (health(&s, why, sizeof why) != 200 && ht_now() < end) usleep(200 * 1000);
  assert_int_equal(health(&s, why, sizeof why), 200);
  pthread_mutex_lock(&l.mu);
  size_t before_recovery = l.count;
  pthread_mutex_unlock(&l.mu);
  end = ht_now() + 10;
  for (;;) {
    pthread_mutex_lock(&l.mu);
    size_t now = l.count;
    pthread_mutex_unlock(&l.mu);
    if (now > before_recovery + 5 || ht_now() > end) break;
    usleep(100 * 1000);
  }
  atomic_store(&l.stop, true);
  for (int i = 0; i < CLIENTS; i++) pthread_join(th[i], NULL);

  assert_int_equal(atomic_load(&l.ok_while_down), 0);
  assert_int_equal(atomic_load(&l.other_while_down), 0);
  assert_true(l.count > before_recovery + 5); /* it serves again */
  /* Every 200 verifies: no record was lost in the crash. */
  for (size_t i = 0; i < l.count; i++) {
    bool verified = false;
    long status = verify(&s, l.answers[i].request_id, l.answers[i].program_commitment, &verified);
    if (status != 200 || !verified)
      fail_msg("answer %zu (%s) answered 200 but does not verify: %ld", i,
               l.answers[i].request_id, status);
  }
  fprintf(stderr, "# %zu answered 200 (all verify), %lu refused while the database was down\n",
          l.count, atomic_load(&l.refused));
  json_decref(l.request);
  hv_client_key_free(key);
  free(wasm);
  free(l.answers);
  pthread_mutex_destroy(&l.mu);
  ht_stop(&s);
  ht_cleanup(&s);
}

int main(void) {
  const char *dsn = getenv("HV_TEST_PG_DSN");
  if (dsn == NULL || dsn[0] == '\0') {
    fprintf(stderr, "test_server_postgres: HV_TEST_PG_DSN is not set (run under "
                    "scripts/pg-temp.sh run)\n");
    return 1;
  }
  snprintf(g_storage, sizeof g_storage, "  backend: postgres\n  dsn: \"%s\"\n  connections: 4\n",
           dsn);
  snprintf(g_kek, sizeof g_kek, "/tmp/hv-kek-XXXXXX");
  int fd = mkstemp(g_kek); /* mode 0600 */
  if (fd < 0 || write(fd, KEK_HEX "\n", sizeof KEK_HEX) != (ssize_t)sizeof KEK_HEX) return 1;
  close(fd);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_nodes_one_key_ring_one_audit_log),
      cmocka_unit_test(test_two_nodes_one_transparency_log),
      cmocka_unit_test(test_postgres_needs_a_kek),
      cmocka_unit_test(test_database_restart_under_load),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  unlink(g_kek);
  return failed;
}
