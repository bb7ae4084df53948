/*
 * crypto_int.h: definitions private to hv_crypto (and its unit tests, which check intermediate
 * values of the RFC 9180 vectors). Internal symbols use a double underscore after the prefix.
 */
#ifndef HV_CRYPTO_INT_H
#define HV_CRYPTO_INT_H

#include <pthread.h>

#include <openssl/evp.h>

#include "hv_crypto.h"

/* ---- Errors (crypto_error.c) ---------------------------------------------------------------- */

/* Starts an operation: clears OpenSSL's error queue and err. */
void hv_crypto__begin(hv_crypto_err *err);

/* Records status and a printf-style message in err (may be NULL); returns status. */
hv_crypto_status hv_crypto__fail(hv_crypto_err *err, hv_crypto_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* An OpenSSL call failed: status with "what: <OpenSSL's reason>" for INTERNAL statuses (the
 * reason never holds key material) and plain "what" for the others, whose messages may reach the
 * remote party. Empties OpenSSL's error queue either way. */
hv_crypto_status hv_crypto__ossl_fail(hv_crypto_err *err, hv_crypto_status status,
                                      const char *what);

/* ---- Keys (hpke_kem.c) ---------------------------------------------------------------------- */

struct hpke_public_key {
  EVP_PKEY *pkey;
  uint8_t sec1[HPKE_PUBLIC_KEY_LEN];
};

/* What one Decap needs besides the key, kept between calls so each open skips creating OpenSSL
 * contexts. A workspace is used by one thread at a time: taken from its key's pool, put back. */
typedef struct hpke__workspace {
  EVP_PKEY *peer;       /* a P-256 key whose point is replaced by each enc */
  EVP_PKEY_CTX *derive; /* ECDH with the owner's private key, initialised */
  EVP_MAC_CTX *hmac;    /* HMAC-SHA256 for the KEM and the key schedule */
  struct hpke__workspace *next;
} hpke__workspace;

#define HPKE__POOL_MAX 16 /* idle workspaces kept per key; more are made and freed on demand */

struct hpke_private_key {
  EVP_PKEY *pkey;       /* the key pair */
  EVP_PKEY *peer_proto; /* a public-only P-256 key that workspaces duplicate */
  uint8_t sec1[HPKE_PUBLIC_KEY_LEN];
  bool pool_ready;
  pthread_mutex_t pool_lock; /* guards pool and pool_size only */
  hpke__workspace *pool;
  size_t pool_size;
};

/* A workspace for sk (from its pool, or new); give it back with hpke__workspace_release, passing
 * reuse = false after a failure that may have left it in an unknown state. */
hv_crypto_status hpke__workspace_acquire(const hpke_private_key *sk, hpke__workspace **out,
                                         hv_crypto_err *err);
void hpke__workspace_release(const hpke_private_key *sk, hpke__workspace *ws, bool reuse);

/* Decap(enc, skR) of RFC 9180 §4.1 in a workspace of skR. */
hv_crypto_status hpke__decap_with(const hpke_private_key *skR, hpke__workspace *ws,
                                  const uint8_t *enc, size_t enc_len,
                                  uint8_t shared_secret[HPKE_SECRET_LEN], hv_crypto_err *err);

/* Encap(pkR) of RFC 9180 §4.1, ephemeral key from DeriveKeyPair(ikm_e) when ikm_e is not NULL. */
hv_crypto_status hpke__encap(const hpke_public_key *pkR, const uint8_t *ikm_e, size_t ikm_e_len,
                             uint8_t enc[HPKE_ENC_LEN], uint8_t shared_secret[HPKE_SECRET_LEN],
                             hv_crypto_err *err);
/* Decap(enc, skR) of RFC 9180 §4.1. */
hv_crypto_status hpke__decap(const hpke_private_key *skR, const uint8_t *enc, size_t enc_len,
                             uint8_t shared_secret[HPKE_SECRET_LEN], hv_crypto_err *err);

/* ---- Labeled HKDF-SHA256 over HMAC (hpke_kdf.c) --------------------------------------------- */

#define HPKE__SUITE_ID_MAX 10

typedef struct hpke__kdf {
  EVP_MAC_CTX *mac; /* HMAC-SHA256, re-keyed for every call */
  bool owns_mac;
  uint8_t suite_id[HPKE__SUITE_ID_MAX];
  size_t suite_id_len;
} hpke__kdf;

/* A new HMAC-SHA256 context (the caller frees it with EVP_MAC_CTX_free). */
hv_crypto_status hpke__hmac_new(EVP_MAC_CTX **out, hv_crypto_err *err);

/* A KDF with its own HMAC context, for the KEM ("KEM" || kem_id) or the key schedule
 * ("HPKE" || kem || kdf || aead); hpke__kdf_cleanup frees it. */
hv_crypto_status hpke__kdf_init_kem(hpke__kdf *kdf, hv_crypto_err *err);
hv_crypto_status hpke__kdf_init_suite(hpke__kdf *kdf, hpke_suite suite, hv_crypto_err *err);
/* A KDF on a borrowed HMAC context (cleanup leaves it alone); then pick the suite_id. */
void hpke__kdf_borrow(hpke__kdf *kdf, EVP_MAC_CTX *mac);
void hpke__kdf_set_kem(hpke__kdf *kdf);
void hpke__kdf_set_suite(hpke__kdf *kdf, hpke_suite suite);
void hpke__kdf_cleanup(hpke__kdf *kdf);

/* LabeledExtract(salt, label, ikm) into out (HPKE_SECRET_LEN bytes); salt may be empty. */
hv_crypto_status hpke__labeled_extract(hpke__kdf *kdf, const uint8_t *salt, size_t salt_len,
                                       const char *label, const uint8_t *ikm, size_t ikm_len,
                                       uint8_t out[HPKE_SECRET_LEN], hv_crypto_err *err);
/* LabeledExpand(prk, label, info, L) into out (L bytes, 1 <= L <= 255 * 32). */
hv_crypto_status hpke__labeled_expand(hpke__kdf *kdf, const uint8_t prk[HPKE_SECRET_LEN],
                                      const char *label, const uint8_t *info, size_t info_len,
                                      uint8_t *out, size_t L, hv_crypto_err *err);

/* ---- Key schedule and contexts (hpke.c) ----------------------------------------------------- */

#define HPKE__KSC_LEN (1 + 2 * HPKE_SECRET_LEN) /* mode || psk_id_hash || info_hash */

/* Everything KeySchedule (RFC 9180 §5.1) computes; key and base_nonce are empty for export-only. */
typedef struct hpke__schedule {
  uint8_t key_schedule_context[HPKE__KSC_LEN];
  uint8_t secret[HPKE_SECRET_LEN];
  uint8_t key[HPKE_MAX_KEY_LEN];
  size_t key_len; /* Nk */
  uint8_t base_nonce[HPKE_NONCE_LEN];
  size_t nonce_len; /* Nn */
  uint8_t exporter_secret[HPKE_SECRET_LEN];
} hpke__schedule;

hv_crypto_status hpke__key_schedule(const hpke_setup_params *params,
                                    const uint8_t shared_secret[HPKE_SECRET_LEN],
                                    hpke__schedule *out, hv_crypto_err *err);

struct hpke_ctx {
  hpke_suite suite;
  bool sender;
  hpke__schedule schedule;
  uint64_t seq;
  EVP_CIPHER_CTX *aead; /* keyed once at setup; NULL for export-only */
};

/* ComputeNonce(seq) of RFC 9180 §5.2 for the context's current sequence number. */
void hpke__compute_nonce(const hpke_ctx *ctx, uint8_t out[HPKE_NONCE_LEN]);

/* ---- Key ring (keyring.c) ------------------------------------------------------------------- */

/* One decryption attempt with one private key of the ring. HV_CRYPTO_DECRYPT_FAILED with *final
 * false means "not this key": the next live key is tried. Any other status, or *final true,
 * ends the search with that status and err as the attempt left them. */
typedef hv_crypto_status (*hv_keyring__attempt)(const hpke_private_key *sk, void *arg, bool *final,
                                                hv_crypto_err *err);

/* Runs attempt under the ring's read lock with the key key_id, or, when key_id is NULL or "",
 * with each live key from the current one back, as hv_keyring_decrypt does (whose messages it
 * gives: an unknown key_id is HV_CRYPTO_UNKNOWN_KEY_ID, "not this key" with every key tried
 * HV_CRYPTO_DECRYPT_FAILED). used_key_id (may be NULL) receives the key_id of a successful
 * attempt, else "". The attempt must not call back into the ring. */
hv_crypto_status hv_keyring__try(hv_keyring *ring, const char *key_id,
                                 hv_keyring__attempt attempt, void *arg,
                                 char used_key_id[HV_KEY_ID_LEN + 1], hv_crypto_err *err);

/* ---- Shared helpers ------------------------------------------------------------------------- */

/* Checks a pthread lock call: a lock that fails means a bug (or a destroyed lock), and going on
 * unsynchronised would be worse than stopping, so it aborts with the call's name, in all builds. */
void hv_crypto__lock_check(int rc, const char *what);
#define HV_CRYPTO__LOCKED(call) hv_crypto__lock_check((call), #call)

/* SHA-256 over up to count buffers; parts with a zero length may have a NULL pointer. */
typedef struct hv_crypto__part {
  const void *data;
  size_t len;
} hv_crypto__part;

hv_crypto_status hv_crypto__sha256(const hv_crypto__part *parts, size_t count, uint8_t out[32],
                                   hv_crypto_err *err);

#endif /* HV_CRYPTO_INT_H */
