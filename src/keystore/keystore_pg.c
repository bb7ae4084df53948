/*
 * keystore_pg.c: the shared key ring in PostgreSQL (include/hv_keystore.h; docs/crypto.md,
 * "Shared key ring").
 *
 * Table hv_keys: key_id, created_at (Unix seconds), wrapped_private_key (hex of hv_kek_wrap's
 * output, whose AAD binds the key_id), public_key (hex SEC1). Only wrapped keys are stored.
 * Table hv_log_key (schema 2): the one row of the cluster's transparency-log key, its seed wrapped
 * the same way under the key_id HV_KEYSTORE_LOG_KEY_ID.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "hv_keystore.h"

#define SCHEMA_VERSION 2
#define LOCK_KEYS 0x4856414b01LL /* "HVAK": the rotation's advisory lock */
#define WRAPPED_LEN (HPKE_PRIVATE_KEY_LEN + HV_KEK_WRAP_OVERHEAD)
#define MAX_TIME ((int64_t)1 << 50)

static const char *const migrations[SCHEMA_VERSION] = {
    "CREATE TABLE hv_keys ("
    "  key_id text PRIMARY KEY,"
    "  created_at bigint NOT NULL,"
    "  wrapped_private_key text NOT NULL,"
    "  public_key text NOT NULL)",
    "CREATE TABLE hv_log_key ("
    "  id int PRIMARY KEY CHECK (id = 1),"
    "  created_at bigint NOT NULL,"
    "  wrapped_seed text NOT NULL)",
};

struct hv_keystore {
  char *dsn; /* a secret: wiped at close */
  hv_kek *kek;
  int64_t period;
  pthread_mutex_t lock; /* one call at a time on conn */
  PGconn *conn;
};

static void ignore_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

/* "shared key ring: WHAT: libpq's reason" as HV_CRYPTO_KEYRING_IO; clears res. */
static hv_crypto_status db_fail(hv_keystore *ks, PGresult *res, hv_crypto_err *err,
                                const char *what) {
  const char *msg = res != NULL && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
                                                                : PQerrorMessage(ks->conn);
  char text[160];
  snprintf(text, sizeof text, "%s", msg != NULL && msg[0] ? msg : "no answer from the server");
  for (char *p = text; *p; p++)
    if (*p == '\n') *p = ' ';
  PQclear(res);
  if (err != NULL) {
    err->status = HV_CRYPTO_KEYRING_IO;
    snprintf(err->message, sizeof err->message, "shared key ring: %s: %s", what, text);
  }
  return HV_CRYPTO_KEYRING_IO;
}

static hv_crypto_status fail(hv_crypto_err *err, hv_crypto_status st, const char *msg,
                             const char *key_id) {
  if (err != NULL) {
    err->status = st;
    snprintf(err->message, sizeof err->message, "shared key ring: %s%s%s", msg,
             key_id ? " " : "", key_id ? key_id : "");
  }
  return st;
}

static bool run(PGconn *c, const char *sql, ExecStatusType want, PGresult **res) {
  *res = PQexec(c, sql);
  return *res != NULL && PQresultStatus(*res) == want;
}

static hv_crypto_status migrate(hv_keystore *ks, hv_crypto_err *err) {
  PGresult *res = NULL;
  char sql[128];
  snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld)", LOCK_KEYS);
  if (!run(ks->conn, sql, PGRES_TUPLES_OK, &res)) goto fail;
  PQclear(res);
  if (!run(ks->conn,
           "CREATE TABLE IF NOT EXISTS hv_keys_migrations (version int PRIMARY KEY,"
           " applied_at timestamptz NOT NULL DEFAULT now())",
           PGRES_COMMAND_OK, &res))
    goto fail;
  PQclear(res);
  if (!run(ks->conn, "SELECT coalesce(max(version), 0) FROM hv_keys_migrations", PGRES_TUPLES_OK,
           &res))
    goto fail;
  long have = strtol(PQgetvalue(res, 0, 0), NULL, 10);
  PQclear(res);
  if (have > SCHEMA_VERSION) {
    PQclear(PQexec(ks->conn, "ROLLBACK"));
    if (err != NULL) {
      err->status = HV_CRYPTO_KEYRING_CORRUPT;
      snprintf(err->message, sizeof err->message,
               "shared key ring: the database has schema version %ld, this build knows up to %d",
               have, SCHEMA_VERSION);
    }
    return HV_CRYPTO_KEYRING_CORRUPT;
  }
  for (long v = have + 1; v <= SCHEMA_VERSION; v++) {
    if (!run(ks->conn, migrations[v - 1], PGRES_COMMAND_OK, &res)) goto fail;
    PQclear(res);
    snprintf(sql, sizeof sql, "INSERT INTO hv_keys_migrations (version) VALUES (%ld)", v);
    if (!run(ks->conn, sql, PGRES_COMMAND_OK, &res)) goto fail;
    PQclear(res);
  }
  if (!run(ks->conn, "COMMIT", PGRES_COMMAND_OK, &res)) goto fail;
  PQclear(res);
  return HV_CRYPTO_OK;
fail:
  db_fail(ks, res, err, "cannot create or check the schema");
  if (PQstatus(ks->conn) == CONNECTION_OK) PQclear(PQexec(ks->conn, "ROLLBACK"));
  return HV_CRYPTO_KEYRING_IO;
}

/* Connected, with durable commits, or an error. */
static hv_crypto_status ensure_conn(hv_keystore *ks, hv_crypto_err *err) {
  if (ks->conn != NULL && PQstatus(ks->conn) == CONNECTION_OK) return HV_CRYPTO_OK;
  if (ks->conn == NULL) {
    ks->conn = PQconnectdb(ks->dsn);
    if (ks->conn == NULL) return fail(err, HV_CRYPTO_NO_MEMORY, "out of memory", NULL);
    PQsetNoticeProcessor(ks->conn, ignore_notice, NULL);
  } else {
    PQreset(ks->conn);
  }
  PGresult *res = NULL;
  if (PQstatus(ks->conn) != CONNECTION_OK)
    return db_fail(ks, NULL, err, "cannot connect to the database");
  if (!run(ks->conn, "SET synchronous_commit = on; SET statement_timeout = 5000", PGRES_COMMAND_OK,
           &res))
    return db_fail(ks, res, err, "cannot set up the session");
  PQclear(res);
  return HV_CRYPTO_OK;
}

void hv_keystore_close(hv_keystore *ks) {
  if (ks == NULL) return;
  PQfinish(ks->conn);
  if (ks->dsn != NULL) {
    OPENSSL_cleanse(ks->dsn, strlen(ks->dsn));
    free(ks->dsn);
  }
  hv_kek_free(ks->kek);
  pthread_mutex_destroy(&ks->lock);
  free(ks);
}

hv_crypto_status hv_keystore_open(const char *dsn, const hv_kek *kek, int64_t rotation_seconds,
                                  hv_keystore **out, hv_crypto_err *err) {
  *out = NULL;
  if (dsn == NULL || kek == NULL || rotation_seconds <= 0)
    return fail(err, HV_CRYPTO_KEK_INVALID,
                "needs a database and a key-encryption key (crypto.kek_file or " HV_KEK_ENV ")",
                NULL);
  hv_keystore *ks = calloc(1, sizeof *ks);
  if (ks == NULL || pthread_mutex_init(&ks->lock, NULL) != 0) {
    free(ks);
    return fail(err, HV_CRYPTO_NO_MEMORY, "out of memory", NULL);
  }
  ks->period = rotation_seconds;
  ks->dsn = strdup(dsn);
  hv_crypto_status st = ks->dsn == NULL ? fail(err, HV_CRYPTO_NO_MEMORY, "out of memory", NULL)
                                        : hv_kek_copy(kek, &ks->kek, err);
  if (st == HV_CRYPTO_OK) st = ensure_conn(ks, err);
  if (st == HV_CRYPTO_OK) st = migrate(ks, err);
  if (st != HV_CRYPTO_OK) {
    hv_keystore_close(ks);
    return st;
  }
  *out = ks;
  return HV_CRYPTO_OK;
}

/* A new key at now, wrapped, inserted (inside the caller's transaction). */
static hv_crypto_status insert_new_key(hv_keystore *ks, int64_t now, hv_crypto_err *err) {
  hpke_private_key *sk = NULL;
  uint8_t raw[HPKE_PRIVATE_KEY_LEN], wrapped[WRAPPED_LEN];
  char key_id[HV_KEY_ID_LEN + 1], wrapped_hex[2 * WRAPPED_LEN + 1];
  char pk_hex[2 * HPKE_PUBLIC_KEY_LEN + 1], created[24];
  size_t wrapped_len = 0;
  hv_crypto_status st = hpke_private_key_generate(&sk, err);
  if (st == HV_CRYPTO_OK) st = hv_crypto_key_id(hpke_private_key_public(sk), key_id, err);
  if (st == HV_CRYPTO_OK) st = hpke_private_key_export(sk, raw, err);
  if (st == HV_CRYPTO_OK) st = hv_kek_wrap(ks->kek, key_id, raw, sizeof raw, wrapped, &wrapped_len, err);
  if (st == HV_CRYPTO_OK) {
    hv_crypto_hex_encode(wrapped, wrapped_len, wrapped_hex);
    hv_crypto_hex_encode(hpke_private_key_public(sk), HPKE_PUBLIC_KEY_LEN, pk_hex);
    snprintf(created, sizeof created, "%lld", (long long)now);
    const char *values[4] = {key_id, created, wrapped_hex, pk_hex};
    PGresult *res = PQexecParams(ks->conn,
                                 "INSERT INTO hv_keys (key_id, created_at, wrapped_private_key,"
                                 " public_key) VALUES ($1, $2::bigint, $3, $4)",
                                 4, NULL, values, NULL, NULL, 0);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
      st = db_fail(ks, res, err, "cannot store the new key");
    else
      PQclear(res);
  }
  hpke_private_key_free(sk);
  OPENSSL_cleanse(raw, sizeof raw);
  return st;
}

/* The rotation transaction: under the lock, make the next key if due and delete expired keys. */
static hv_crypto_status rotate(hv_keystore *ks, int64_t now, hv_crypto_err *err) {
  PGresult *res = NULL;
  char sql[96];
  snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld)", LOCK_KEYS);
  if (!run(ks->conn, sql, PGRES_TUPLES_OK, &res)) {
    hv_crypto_status st = db_fail(ks, res, err, "cannot start the rotation");
    if (PQstatus(ks->conn) == CONNECTION_OK) PQclear(PQexec(ks->conn, "ROLLBACK"));
    return st;
  }
  PQclear(res);
  hv_crypto_status st = HV_CRYPTO_OK;
  if (!run(ks->conn, "SELECT key_id, created_at FROM hv_keys ORDER BY created_at, key_id",
           PGRES_TUPLES_OK, &res)) {
    st = db_fail(ks, res, err, "cannot read the keys");
    goto rollback;
  }
  int n = PQntuples(res);
  int64_t newest = n > 0 ? strtoll(PQgetvalue(res, n - 1, 1), NULL, 10) : 0;
  /* A key superseded one period ago or more is destroyed, as in a file ring. */
  for (int i = 0; st == HV_CRYPTO_OK && i + 1 < n; i++) {
    int64_t next_created = strtoll(PQgetvalue(res, i + 1, 1), NULL, 10);
    if (next_created + ks->period > now) break;
    const char *values[1] = {PQgetvalue(res, i, 0)};
    PGresult *del = PQexecParams(ks->conn, "DELETE FROM hv_keys WHERE key_id = $1", 1, NULL,
                                 values, NULL, NULL, 0);
    if (del == NULL || PQresultStatus(del) != PGRES_COMMAND_OK)
      st = db_fail(ks, del, err, "cannot delete an expired key");
    else
      PQclear(del);
  }
  PQclear(res);
  res = NULL;
  if (st == HV_CRYPTO_OK && (n == 0 || now >= newest + ks->period))
    st = insert_new_key(ks, now, err);
  if (st != HV_CRYPTO_OK) goto rollback;
  if (!run(ks->conn, "COMMIT", PGRES_COMMAND_OK, &res)) {
    st = db_fail(ks, res, err, "cannot commit the rotation");
    res = NULL;
    goto rollback;
  }
  PQclear(res);
  return HV_CRYPTO_OK;
rollback:
  PQclear(res);
  if (PQstatus(ks->conn) == CONNECTION_OK) PQclear(PQexec(ks->conn, "ROLLBACK"));
  return st;
}

/* Reads, unwraps and installs every key. */
static hv_crypto_status load(hv_keystore *ks, hv_keyring *ring, int64_t now, hv_crypto_err *err) {
  PGresult *res = NULL;
  if (!run(ks->conn,
           "SELECT key_id, created_at, wrapped_private_key FROM hv_keys ORDER BY created_at, key_id",
           PGRES_TUPLES_OK, &res))
    return db_fail(ks, res, err, "cannot read the keys");
  int n = PQntuples(res);
  if (n > HV_KEYRING_MAX_KEYS) {
    PQclear(res);
    return fail(err, HV_CRYPTO_KEYRING_FULL, "the database holds more keys than a ring can", NULL);
  }
  hv_keyring_import keys[HV_KEYRING_MAX_KEYS];
  uint8_t wrapped[WRAPPED_LEN];
  hv_crypto_status st = HV_CRYPTO_OK;
  for (int i = 0; st == HV_CRYPTO_OK && i < n; i++) {
    const char *id = PQgetvalue(res, i, 0), *hex = PQgetvalue(res, i, 2);
    size_t len = 0;
    snprintf(keys[i].key_id, sizeof keys[i].key_id, "%s", id);
    keys[i].created_at = strtoll(PQgetvalue(res, i, 1), NULL, 10);
    if (strlen(id) != HV_KEY_ID_LEN || keys[i].created_at < 0 || keys[i].created_at > MAX_TIME ||
        hv_crypto_hex_decode(hex, strlen(hex), wrapped, sizeof wrapped, NULL) != HV_CRYPTO_OK) {
      st = fail(err, HV_CRYPTO_KEYRING_CORRUPT, "malformed row for key", id);
    } else {
      st = hv_kek_unwrap(ks->kek, keys[i].key_id, wrapped, sizeof wrapped, keys[i].private_key,
                         &len, NULL);
      if (st != HV_CRYPTO_OK || len != HPKE_PRIVATE_KEY_LEN)
        st = fail(err, HV_CRYPTO_KEK_MISMATCH,
                  "does not open with this server's key-encryption key (another KEK?): key", id);
    }
  }
  PQclear(res);
  if (st == HV_CRYPTO_OK) st = hv_keyring_replace(ring, keys, (size_t)n, now, err);
  OPENSSL_cleanse(keys, sizeof keys);
  OPENSSL_cleanse(wrapped, sizeof wrapped);
  return st;
}

hv_crypto_status hv_keystore_sync(hv_keystore *ks, hv_keyring *ring, int64_t now, bool rotate_too,
                                  hv_crypto_err *err) {
  if (ks == NULL || ring == NULL || now < 0 || now > MAX_TIME)
    return fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_keystore_sync: bad argument", NULL);
  pthread_mutex_lock(&ks->lock);
  hv_crypto_status st = ensure_conn(ks, err);
  if (st == HV_CRYPTO_OK && rotate_too) st = rotate(ks, now, err);
  if (st == HV_CRYPTO_OK) st = load(ks, ring, now, err);
  pthread_mutex_unlock(&ks->lock);
  return st;
}

#define LOG_WRAPPED_LEN (HV_KEYSTORE_LOG_SEED_LEN + HV_KEK_WRAP_OVERHEAD)

/* Reads the log key's row (inside the caller's transaction) and unwraps it into seed; *found is
 * false when there is no row yet. */
static hv_crypto_status read_log_seed(hv_keystore *ks, uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN],
                                      bool *found, hv_crypto_err *err) {
  PGresult *res = NULL;
  *found = false;
  if (!run(ks->conn, "SELECT wrapped_seed FROM hv_log_key WHERE id = 1", PGRES_TUPLES_OK, &res))
    return db_fail(ks, res, err, "cannot read the log key");
  if (PQntuples(res) == 0) {
    PQclear(res);
    return HV_CRYPTO_OK;
  }
  *found = true;
  const char *hex = PQgetvalue(res, 0, 0);
  uint8_t wrapped[LOG_WRAPPED_LEN];
  size_t len = 0;
  hv_crypto_status st = HV_CRYPTO_OK;
  if (strlen(hex) != 2 * LOG_WRAPPED_LEN ||
      hv_crypto_hex_decode(hex, strlen(hex), wrapped, sizeof wrapped, NULL) != HV_CRYPTO_OK) {
    st = fail(err, HV_CRYPTO_KEYRING_CORRUPT, "malformed row for key", HV_KEYSTORE_LOG_KEY_ID);
  } else {
    st = hv_kek_unwrap(ks->kek, HV_KEYSTORE_LOG_KEY_ID, wrapped, sizeof wrapped, seed, &len, NULL);
    if (st != HV_CRYPTO_OK || len != HV_KEYSTORE_LOG_SEED_LEN) {
      OPENSSL_cleanse(seed, HV_KEYSTORE_LOG_SEED_LEN);
      st = fail(err, HV_CRYPTO_KEK_MISMATCH,
                "does not open with this server's key-encryption key (another KEK?): key",
                HV_KEYSTORE_LOG_KEY_ID);
    }
  }
  PQclear(res);
  return st;
}

/* A new seed, wrapped and inserted (inside the caller's transaction); seed receives it. */
static hv_crypto_status insert_log_seed(hv_keystore *ks, int64_t now,
                                        uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN], hv_crypto_err *err) {
  uint8_t wrapped[LOG_WRAPPED_LEN];
  char hex[2 * LOG_WRAPPED_LEN + 1], created[24];
  size_t len = 0;
  if (RAND_priv_bytes(seed, HV_KEYSTORE_LOG_SEED_LEN) != 1)
    return fail(err, HV_CRYPTO_OPENSSL_FAILURE, "the random generator failed making the log key", NULL);
  hv_crypto_status st = hv_kek_wrap(ks->kek, HV_KEYSTORE_LOG_KEY_ID, seed, HV_KEYSTORE_LOG_SEED_LEN,
                                    wrapped, &len, err);
  if (st != HV_CRYPTO_OK) return st;
  hv_crypto_hex_encode(wrapped, len, hex);
  snprintf(created, sizeof created, "%lld", (long long)now);
  const char *values[2] = {created, hex};
  PGresult *res = PQexecParams(ks->conn,
                               "INSERT INTO hv_log_key (id, created_at, wrapped_seed)"
                               " VALUES (1, $1::bigint, $2)",
                               2, NULL, values, NULL, NULL, 0);
  if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) return db_fail(ks, res, err, "cannot store the log key");
  PQclear(res);
  return HV_CRYPTO_OK;
}

hv_crypto_status hv_keystore_log_seed(hv_keystore *ks, int64_t now,
                                      uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN], hv_crypto_err *err) {
  if (ks == NULL || seed == NULL || now < 0 || now > MAX_TIME)
    return fail(err, HV_CRYPTO_INVALID_ARGUMENT, "hv_keystore_log_seed: bad argument", NULL);
  pthread_mutex_lock(&ks->lock);
  hv_crypto_status st = ensure_conn(ks, err);
  PGresult *res = NULL;
  char sql[96];
  bool found = false;
  /* Under the rotation's lock: nodes starting together make one key, and all read that one. */
  snprintf(sql, sizeof sql, "BEGIN; SELECT pg_advisory_xact_lock(%lld)", LOCK_KEYS);
  if (st == HV_CRYPTO_OK && !run(ks->conn, sql, PGRES_TUPLES_OK, &res))
    st = db_fail(ks, res, err, "cannot lock the log key");
  else
    PQclear(res);
  res = NULL;
  if (st == HV_CRYPTO_OK) st = read_log_seed(ks, seed, &found, err);
  if (st == HV_CRYPTO_OK && !found) st = insert_log_seed(ks, now, seed, err);
  if (st == HV_CRYPTO_OK && !run(ks->conn, "COMMIT", PGRES_COMMAND_OK, &res))
    st = db_fail(ks, res, err, "cannot commit the log key");
  else
    PQclear(res);
  if (st != HV_CRYPTO_OK) {
    OPENSSL_cleanse(seed, HV_KEYSTORE_LOG_SEED_LEN);
    if (ks->conn != NULL && PQstatus(ks->conn) == CONNECTION_OK) PQclear(PQexec(ks->conn, "ROLLBACK"));
  }
  pthread_mutex_unlock(&ks->lock);
  return st;
}
