/*
 * test_keystore.c: the shared key ring on a real PostgreSQL (HV_TEST_PG_DSN; ctest runs this
 * under scripts/pg-temp.sh run). Three nodes, each a keystore and a shared ring, on an injected
 * clock: all three rotate at once and exactly one key is made; a request sealed to a key any node
 * lists opens on every node; a destroyed key is gone everywhere; the database holds only wrapped
 * keys; a node with another KEK, or none, is refused. The transparency-log key: three nodes
 * asking at once get one seed, stored wrapped; another KEK cannot open it; a database made by
 * schema 1 is migrated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_keystore.h"

#define T0 1764000000
#define PERIOD 3600
#define NODES 3
#define KEK_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEK_B "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"

static const char *g_dsn;

static PGresult *pg_sql(const char *sql, ExecStatusType want) {
  PGconn *c = PQconnectdb(g_dsn);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("connect: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != want) fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQfinish(c);
  return r;
}

static long db_keys(void) {
  PGresult *r = pg_sql("SELECT count(*) FROM hv_keys", PGRES_TUPLES_OK);
  long n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return n;
}

typedef struct node {
  hv_keystore *ks;
  hv_keyring *ring;
  int64_t now;
  hv_crypto_status result;
} node;

static void *sync_thread(void *arg) {
  node *n = arg;
  hv_crypto_err err;
  n->result = hv_keystore_sync(n->ks, n->ring, n->now, true, &err);
  if (n->result != HV_CRYPTO_OK) fprintf(stderr, "sync: %s\n", err.message);
  return NULL;
}

/* Every node rotates at `now`, all at the same moment. */
static void rotate_all(node *nodes, int64_t now) {
  pthread_t th[NODES];
  for (int i = 0; i < NODES; i++) {
    nodes[i].now = now;
    assert_int_equal(pthread_create(&th[i], NULL, sync_thread, &nodes[i]), 0);
  }
  for (int i = 0; i < NODES; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(nodes[i].result, HV_CRYPTO_OK);
  }
}

static uint8_t *seal_to(const hv_keyring_key_info *info, const char *text, size_t *len) {
  hpke_public_key *pk = NULL;
  uint8_t *out = NULL;
  assert_int_equal(hpke_public_key_parse(info->public_key, HPKE_PUBLIC_KEY_LEN, &pk, NULL),
                   HV_CRYPTO_OK);
  assert_int_equal(hpke_seal_base(HPKE_SUITE_PROTOCOL, pk, (const uint8_t *)"info", 4,
                                  (const uint8_t *)"aad", 3, (const uint8_t *)text, strlen(text),
                                  &out, len, NULL),
                   HV_CRYPTO_OK);
  hpke_public_key_free(pk);
  return out;
}

static hv_crypto_status opens(hv_keyring *ring, const char *key_id, const uint8_t *ct, size_t len) {
  uint8_t *pt = NULL;
  size_t pt_len = 0;
  hv_crypto_status st = hv_keyring_decrypt(ring, key_id, ct, len, (const uint8_t *)"info", 4,
                                           (const uint8_t *)"aad", 3, &pt, &pt_len, NULL, NULL);
  free(pt);
  return st;
}

static hv_kek *kek_of(const char *hex) {
  hv_kek *k = NULL;
  assert_int_equal(hv_kek_from_text(hex, &k, NULL), HV_CRYPTO_OK);
  return k;
}

static void test_three_nodes_rotate_on_injected_clock(void **state) {
  (void)state;
  PQclear(pg_sql("DROP TABLE IF EXISTS hv_keys, hv_log_key, hv_keys_migrations", PGRES_COMMAND_OK));
  hv_kek *kek = kek_of(KEK_A);
  node nodes[NODES];
  hv_crypto_err err;
  for (int i = 0; i < NODES; i++) {
    memset(&nodes[i], 0, sizeof nodes[i]);
    assert_int_equal(hv_keystore_open(g_dsn, kek, PERIOD, &nodes[i].ks, &err), HV_CRYPTO_OK);
    assert_int_equal(hv_keyring_open_shared(PERIOD, &nodes[i].ring, &err), HV_CRYPTO_OK);
  }

  /* T0: three nodes rotate at once; exactly one key is made and all hold it. */
  rotate_all(nodes, T0);
  assert_int_equal(db_keys(), 1);
  hv_keyring_key_info k1[NODES];
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(hv_keyring_current(nodes[i].ring, &k1[i], &err), HV_CRYPTO_OK);
    assert_string_equal(k1[i].key_id, k1[0].key_id);
    assert_int_equal(k1[i].created_at, T0);
  }
  /* Wrapped in the database: 61 bytes of hv_kek_wrap output, as hex. */
  PGresult *r = pg_sql("SELECT length(wrapped_private_key) FROM hv_keys", PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(r, 0, 0), "122");
  PQclear(r);
  size_t len1 = 0;
  uint8_t *sealed1 = seal_to(&k1[0], "sealed on node A's key", &len1);
  for (int i = 0; i < NODES; i++)
    assert_int_equal(opens(nodes[i].ring, k1[0].key_id, sealed1, len1), HV_CRYPTO_OK);

  /* Not due yet: nothing new. */
  rotate_all(nodes, T0 + PERIOD - 1);
  assert_int_equal(db_keys(), 1);

  /* T0+P: one new key, the old one still opens everywhere. */
  rotate_all(nodes, T0 + PERIOD);
  assert_int_equal(db_keys(), 2);
  hv_keyring_key_info k2;
  assert_int_equal(hv_keyring_current(nodes[2].ring, &k2, &err), HV_CRYPTO_OK);
  assert_string_not_equal(k2.key_id, k1[0].key_id);
  size_t len2 = 0;
  uint8_t *sealed2 = seal_to(&k2, "sealed on node C's new key", &len2);
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(opens(nodes[i].ring, k1[0].key_id, sealed1, len1), HV_CRYPTO_OK);
    assert_int_equal(opens(nodes[i].ring, k2.key_id, sealed2, len2), HV_CRYPTO_OK);
    size_t count = 0;
    hv_keyring_key_info list[4];
    hv_keyring_list(nodes[i].ring, list, 4, &count);
    assert_int_equal(count, 2);
  }

  /* T0+2P: only node B syncs. K1 is deleted from the database, K3 made. Nodes A and C have not
   * synced, but K1's time is over: their own clocks destroy it at the same moment. */
  nodes[1].now = T0 + 2 * PERIOD;
  sync_thread(&nodes[1]);
  assert_int_equal(nodes[1].result, HV_CRYPTO_OK);
  assert_int_equal(db_keys(), 2);
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(hv_keyring_rotate_if_due(nodes[i].ring, T0 + 2 * PERIOD, &err), HV_CRYPTO_OK);
    assert_int_equal(opens(nodes[i].ring, k1[0].key_id, sealed1, len1), HV_CRYPTO_UNKNOWN_KEY_ID);
    assert_int_equal(opens(nodes[i].ring, NULL, sealed1, len1), HV_CRYPTO_DECRYPT_FAILED);
  }
  /* A and C pick up K3 at their next sync (without rotating themselves). */
  hv_keyring_key_info k3;
  assert_int_equal(hv_keyring_current(nodes[1].ring, &k3, &err), HV_CRYPTO_OK);
  size_t len3 = 0;
  uint8_t *sealed3 = seal_to(&k3, "sealed on node B's newest key", &len3);
  assert_int_equal(opens(nodes[0].ring, k3.key_id, sealed3, len3), HV_CRYPTO_UNKNOWN_KEY_ID);
  for (int i = 0; i < NODES; i++) {
    assert_int_equal(hv_keystore_sync(nodes[i].ks, nodes[i].ring, T0 + 2 * PERIOD, false, &err),
                     HV_CRYPTO_OK);
    assert_int_equal(opens(nodes[i].ring, k3.key_id, sealed3, len3), HV_CRYPTO_OK);
    assert_int_equal(opens(nodes[i].ring, k2.key_id, sealed2, len2), HV_CRYPTO_OK);
  }

  /* A node with another KEK cannot open the stored keys; one without a KEK is refused. */
  hv_kek *other = kek_of(KEK_B);
  hv_keystore *wrong = NULL;
  hv_keyring *ring = NULL;
  assert_int_equal(hv_keystore_open(g_dsn, other, PERIOD, &wrong, &err), HV_CRYPTO_OK);
  assert_int_equal(hv_keyring_open_shared(PERIOD, &ring, &err), HV_CRYPTO_OK);
  assert_int_equal(hv_keystore_sync(wrong, ring, T0 + 2 * PERIOD, false, &err),
                   HV_CRYPTO_KEK_MISMATCH);
  assert_non_null(strstr(err.message, "key-encryption key"));
  size_t count = 9;
  hv_keyring_key_info list[4];
  hv_keyring_list(ring, list, 4, &count);
  assert_int_equal(count, 0); /* nothing installed */
  hv_keystore_close(wrong);
  hv_keyring_close(ring);
  hv_kek_free(other);
  hv_keystore *none = NULL;
  assert_int_equal(hv_keystore_open(g_dsn, NULL, PERIOD, &none, &err), HV_CRYPTO_KEK_INVALID);
  assert_null(none);

  free(sealed1);
  free(sealed2);
  free(sealed3);
  for (int i = 0; i < NODES; i++) {
    hv_keystore_close(nodes[i].ks);
    hv_keyring_close(nodes[i].ring);
  }
  hv_kek_free(kek);
}

typedef struct seed_node {
  hv_keystore *ks;
  uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN];
  hv_crypto_status result;
} seed_node;

static void *seed_thread(void *arg) {
  seed_node *n = arg;
  hv_crypto_err err;
  n->result = hv_keystore_log_seed(n->ks, T0, n->seed, &err);
  if (n->result != HV_CRYPTO_OK) fprintf(stderr, "log seed: %s\n", err.message);
  return NULL;
}

static void test_log_key_one_seed_for_every_node(void **state) {
  (void)state;
  /* A database left by schema 1 (no hv_log_key): opening migrates it. */
  PQclear(pg_sql("DROP TABLE IF EXISTS hv_keys, hv_log_key, hv_keys_migrations", PGRES_COMMAND_OK));
  PQclear(pg_sql("CREATE TABLE hv_keys_migrations (version int PRIMARY KEY, applied_at timestamptz"
                 " NOT NULL DEFAULT now()); INSERT INTO hv_keys_migrations (version) VALUES (1);"
                 " CREATE TABLE hv_keys (key_id text PRIMARY KEY, created_at bigint NOT NULL,"
                 " wrapped_private_key text NOT NULL, public_key text NOT NULL)",
                 PGRES_COMMAND_OK));
  hv_kek *kek = kek_of(KEK_A);
  hv_crypto_err err;
  seed_node nodes[NODES];
  for (int i = 0; i < NODES; i++) {
    memset(&nodes[i], 0, sizeof nodes[i]);
    assert_int_equal(hv_keystore_open(g_dsn, kek, PERIOD, &nodes[i].ks, &err), HV_CRYPTO_OK);
  }
  PGresult *r = pg_sql("SELECT max(version) FROM hv_keys_migrations", PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(r, 0, 0), "2");
  PQclear(r);

  /* Three nodes at once: one row, one seed for all. */
  pthread_t th[NODES];
  for (int i = 0; i < NODES; i++)
    assert_int_equal(pthread_create(&th[i], NULL, seed_thread, &nodes[i]), 0);
  for (int i = 0; i < NODES; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(nodes[i].result, HV_CRYPTO_OK);
    assert_memory_equal(nodes[i].seed, nodes[0].seed, HV_KEYSTORE_LOG_SEED_LEN);
  }
  static const uint8_t zero[HV_KEYSTORE_LOG_SEED_LEN];
  assert_memory_not_equal(nodes[0].seed, zero, sizeof zero);
  r = pg_sql("SELECT count(*), min(length(wrapped_seed)), min(wrapped_seed) FROM hv_log_key",
             PGRES_TUPLES_OK);
  assert_string_equal(PQgetvalue(r, 0, 0), "1");
  assert_string_equal(PQgetvalue(r, 0, 1), "122"); /* 61 bytes of hv_kek_wrap output, as hex */
  /* The seed itself is nowhere in the row. */
  char seed_hex[2 * HV_KEYSTORE_LOG_SEED_LEN + 1];
  hv_crypto_hex_encode(nodes[0].seed, HV_KEYSTORE_LOG_SEED_LEN, seed_hex);
  assert_null(strstr(PQgetvalue(r, 0, 2), seed_hex));
  PQclear(r);

  /* Asked again (a restart): the same seed, no second row. */
  uint8_t again[HV_KEYSTORE_LOG_SEED_LEN];
  assert_int_equal(hv_keystore_log_seed(nodes[1].ks, T0 + 10, again, &err), HV_CRYPTO_OK);
  assert_memory_equal(again, nodes[0].seed, sizeof again);

  /* Another KEK cannot open it, and gets nothing. */
  hv_kek *other = kek_of(KEK_B);
  hv_keystore *wrong = NULL;
  assert_int_equal(hv_keystore_open(g_dsn, other, PERIOD, &wrong, &err), HV_CRYPTO_OK);
  memset(again, 0xAA, sizeof again);
  assert_int_equal(hv_keystore_log_seed(wrong, T0, again, &err), HV_CRYPTO_KEK_MISMATCH);
  assert_non_null(strstr(err.message, "key-encryption key"));
  assert_memory_equal(again, zero, sizeof again); /* cleansed */
  hv_keystore_close(wrong);
  hv_kek_free(other);

  /* A damaged row is refused, not used. */
  PQclear(pg_sql("UPDATE hv_log_key SET wrapped_seed = 'zz'", PGRES_COMMAND_OK));
  assert_int_equal(hv_keystore_log_seed(nodes[2].ks, T0, again, &err), HV_CRYPTO_KEYRING_CORRUPT);

  for (int i = 0; i < NODES; i++) hv_keystore_close(nodes[i].ks);
  hv_kek_free(kek);
}

int main(void) {
  g_dsn = getenv("HV_TEST_PG_DSN");
  if (g_dsn == NULL || g_dsn[0] == '\0') {
    fprintf(stderr, "test_keystore: HV_TEST_PG_DSN is not set (run under scripts/pg-temp.sh run)\n");
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_three_nodes_rotate_on_injected_clock),
      cmocka_unit_test(test_log_key_one_seed_for_every_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
