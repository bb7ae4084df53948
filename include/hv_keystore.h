/*
 * hv_keystore.h: the key ring shared by several servers through PostgreSQL (docs/crypto.md,
 * "Shared key ring"). The HPKE key pairs live in one table, each private key wrapped under the
 * key-encryption key (hv_kek_wrap), which never reaches the database. Each server holds a shared
 * hv_keyring (hv_keyring_open_shared) and calls hv_keystore_sync to bring it up to date:
 *
 *   - rotation: in one transaction holding an advisory lock, the store makes the next key when the
 *     newest is one period old (or there is none) and deletes keys superseded more than one period
 *     ago. Under the lock each server sees what the others did, so exactly one makes each key;
 *   - loading: every key is read, unwrapped and installed with hv_keyring_replace, so a request
 *     sealed to any live key opens on every server, and a deleted key is gone from each ring at
 *     its next sync (and, by time, at the same moment everywhere: see hv_keyring_open_shared).
 *
 * Times are Unix seconds from the caller (tests inject them). Errors are hv_crypto statuses:
 * HV_CRYPTO_KEYRING_IO for the database (the message has libpq's reason, never the DSN),
 * HV_CRYPTO_KEK_MISMATCH when a stored key does not open with this server's KEK.
 *
 * Threads: a keystore may be used from any thread; its calls are serialised on one connection
 * (they are rare: start-up, maintenance, GET /v1/keys, a request for a key this server lacks).
 */
#ifndef HV_KEYSTORE_H
#define HV_KEYSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "hv_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hv_keystore hv_keystore;

/* Connects to dsn (libpq), creates or checks the table (versioned; a newer schema is refused) and
 * keeps a copy of kek (required). On success the caller owns *out (hv_keystore_close()). */
hv_crypto_status hv_keystore_open(const char *dsn, const hv_kek *kek, int64_t rotation_seconds,
                                  hv_keystore **out, hv_crypto_err *err);

/* Closes the connection, cleanses the KEK copy and frees. NULL is a no-op. */
void hv_keystore_close(hv_keystore *ks);

/* With rotate, runs the rotation transaction at now; then loads every key into ring (a shared
 * ring). A broken connection is reconnected first. */
hv_crypto_status hv_keystore_sync(hv_keystore *ks, hv_keyring *ring, int64_t now, bool rotate,
                                  hv_crypto_err *err);

/*
 * The cluster's transparency-log key (docs/audit.md, "The log key"): every server sharing the
 * database signs checkpoints with the same Ed25519 key, so that one origin and one verifier key
 * describe the one tree they append to. The seed lives in the database wrapped under the KEK
 * (key_id HV_KEYSTORE_LOG_KEY_ID in the AAD); the first server to ask makes it, under the
 * rotation's lock, and every server reads that one. `now` (Unix seconds) is its created_at.
 * On HV_CRYPTO_OK seed holds the key, which the caller cleanses when done; on failure it is
 * cleansed. HV_CRYPTO_KEK_MISMATCH when the stored seed does not open with this KEK.
 */
#define HV_KEYSTORE_LOG_SEED_LEN 32
#define HV_KEYSTORE_LOG_KEY_ID "transparency-log-ed25519"
hv_crypto_status hv_keystore_log_seed(hv_keystore *ks, int64_t now,
                                      uint8_t seed[HV_KEYSTORE_LOG_SEED_LEN], hv_crypto_err *err);

#ifdef __cplusplus
}
#endif

#endif /* HV_KEYSTORE_H */
