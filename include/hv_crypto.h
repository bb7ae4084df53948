/*
 * hv_crypto.h: the protocol's cryptography (protocol.md, "Cryptography"), shared by the server and
 * the clients.
 *
 *   hpke_*        HPKE (RFC 9180) base and psk modes for DHKEM(P-256, HKDF-SHA256), HKDF-SHA256 and
 *                 AES-128-GCM, AES-256-GCM or export-only, composed from OpenSSL 3.0 EVP primitives.
 *   hv_keyring_*  the server's rotating, persistent key ring of P-256 HPKE key pairs.
 *   hv_commit_*   the result document, its nonce and the three hiding commitments.
 *   hv_crypto_*   errors, base64 and hex, and sealing a response (the server side of the wire).
 *
 * Errors: every fallible call returns an hv_crypto_status and takes an `hv_crypto_err *` (may be
 * NULL) that receives the status and a message. Messages never contain key material, and those of
 * the ENCRYPTION and REQUEST classes are safe to send to the remote party. OpenSSL's error queue is
 * cleared before each operation and is empty again when a call returns.
 *
 * Threads: nothing here keeps global state. Key objects (hpke_public_key, hpke_private_key) are
 * immutable once made and may be used from many threads at once; an hpke_ctx belongs to one thread
 * at a time; an hv_keyring is safe to share (see its section).
 *
 * Buffers: unless a comment says otherwise, the library never keeps a pointer to an argument after
 * the call returns, and what a call allocates belongs to the caller, who frees it with the function
 * the comment names (plain free() for bytes and strings).
 */
#ifndef HV_CRYPTO_H
#define HV_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv_value.h" /* hv_value, hvw_value: only the types, the engine is not linked */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ------------------------------------------------------------------------------- */

/* Which protocol error a status becomes on the wire (protocol.md, "Errors"). */
typedef enum hv_crypto_class {
  HV_CRYPTO_CLASS_NONE = 0,   /* success */
  HV_CRYPTO_CLASS_ENCRYPTION, /* ENCRYPTION_ERROR (400): bad key, unknown key id, decryption failed */
  HV_CRYPTO_CLASS_REQUEST,    /* INVALID_REQUEST (400): malformed input that is not a key */
  HV_CRYPTO_CLASS_VERIFY,     /* client side: the server's answer does not check out */
  HV_CRYPTO_CLASS_INTERNAL,   /* INTERNAL_ERROR (500): our fault or the machine's */
} hv_crypto_class;

/* X(name, class, message). Numbers are stable: append only, never reuse one. */
#define HV_CRYPTO_STATUS_MAP(X)                                                                  \
  X(HV_CRYPTO_OK, NONE, "ok")                                                                    \
  X(HV_CRYPTO_INVALID_ARGUMENT, INTERNAL, "invalid argument")                                    \
  X(HV_CRYPTO_NO_MEMORY, INTERNAL, "out of memory")                                              \
  X(HV_CRYPTO_OPENSSL_FAILURE, INTERNAL, "OpenSSL operation failed")                             \
  X(HV_CRYPTO_UNSUPPORTED, INTERNAL, "unsupported HPKE suite or mode")                           \
  X(HV_CRYPTO_BAD_PUBLIC_KEY, ENCRYPTION, "invalid public key")                                  \
  X(HV_CRYPTO_BAD_ENC, ENCRYPTION, "invalid encapsulated key")                                   \
  X(HV_CRYPTO_UNKNOWN_KEY_ID, ENCRYPTION, "unknown key id")                                      \
  X(HV_CRYPTO_DECRYPT_FAILED, ENCRYPTION, "decryption or authentication failed")                 \
  X(HV_CRYPTO_MESSAGE_TOO_LARGE, REQUEST, "message too large")                                   \
  X(HV_CRYPTO_MESSAGE_LIMIT, INTERNAL, "HPKE sequence number exhausted")                         \
  X(HV_CRYPTO_DERIVE_KEY_PAIR, INTERNAL, "key pair derivation failed")                           \
  X(HV_CRYPTO_BAD_PRIVATE_KEY, INTERNAL, "invalid private key")                                  \
  X(HV_CRYPTO_BAD_PSK, INTERNAL, "inconsistent PSK inputs for the mode")                         \
  X(HV_CRYPTO_BAD_BASE64, REQUEST, "malformed base64")                                           \
  X(HV_CRYPTO_BAD_HEX, REQUEST, "malformed hex")                                                 \
  X(HV_CRYPTO_BAD_VALUE, REQUEST, "value cannot be committed or serialised")                     \
  X(HV_CRYPTO_BAD_DOCUMENT, VERIFY, "malformed result document")                                 \
  X(HV_CRYPTO_COMMITMENT_MISMATCH, VERIFY, "commitment mismatch")                                \
  X(HV_CRYPTO_KEYRING_IO, INTERNAL, "key ring I/O error")                                        \
  X(HV_CRYPTO_KEYRING_CORRUPT, INTERNAL, "key ring unreadable")                                  \
  X(HV_CRYPTO_KEYRING_PERMISSIONS, INTERNAL, "key ring permissions are not owner-only")          \
  X(HV_CRYPTO_KEYRING_FULL, INTERNAL, "key ring holds too many keys")                           \
  X(HV_CRYPTO_DOCUMENT_MISMATCH, VERIFY, "result document does not match the request")         \
  X(HV_CRYPTO_KEK_INVALID, INTERNAL, "key-encryption key missing, unreadable or malformed")      \
  X(HV_CRYPTO_KEK_MISMATCH, INTERNAL, "a wrapped key does not open with the key-encryption key")

typedef enum hv_crypto_status {
#define HV_CRYPTO__ENUM(name, class_, text) name,
  HV_CRYPTO_STATUS_MAP(HV_CRYPTO__ENUM)
#undef HV_CRYPTO__ENUM
} hv_crypto_status;

#define HV_CRYPTO_MESSAGE_MAX 256

typedef struct hv_crypto_err {
  hv_crypto_status status;
  char message[HV_CRYPTO_MESSAGE_MAX]; /* NUL-terminated; says what failed and why */
} hv_crypto_err;

/* "HV_CRYPTO_OK", ...; never NULL. */
const char *hv_crypto_status_name(hv_crypto_status status);
/* The table's message ("invalid public key"); never NULL. */
const char *hv_crypto_status_text(hv_crypto_status status);
/* The wire class of a status; unknown numbers are INTERNAL. */
hv_crypto_class hv_crypto_status_class(hv_crypto_status status);

/* ---- Encodings ---------------------------------------------------------------------------- */

/* The length of the standard base64 (with padding) of len bytes: 4 * ceil(len / 3). */
size_t hv_crypto_base64_encoded_len(size_t len);

/* Writes the standard base64 with padding of in[0..len) to out: hv_crypto_base64_encoded_len(len)
 * characters, no NUL. For writers that place the text inside a larger buffer. In place works:
 * in may be the tail of the output, in == out + hv_crypto_base64_encoded_len(len) - len (each
 * group of three bytes is read before its four characters are written, and the writes never
 * reach bytes not yet read). Other overlaps are not allowed. */
void hv_crypto_base64_encode_to(const uint8_t *in, size_t len, char *out);

/* Standard base64 with padding (RFC 4648 §4). On success *out is a NUL-terminated string the
 * caller frees with free(); *out_len (may be NULL) is its length without the NUL. */
hv_crypto_status hv_crypto_base64_encode(const uint8_t *in, size_t len, char **out, size_t *out_len,
                                         hv_crypto_err *err);

/* Decodes standard base64 or base64url (RFC 4648 §4 and §5), with or without padding. Rejects
 * whitespace, a mix of the two alphabets, misplaced padding and non-zero trailing bits. On success
 * *out (caller frees with free(); never NULL, even for empty input) holds *out_len bytes. */
hv_crypto_status hv_crypto_base64_decode(const char *in, size_t len, uint8_t **out, size_t *out_len,
                                         hv_crypto_err *err);

/* Lowercase hex of len bytes into out, which must hold 2 * len + 1 chars. */
void hv_crypto_hex_encode(const uint8_t *in, size_t len, char *out);

/* Decodes exactly 2 * out_len hex digits (either case) from in[0 .. in_len) into out. Constant
 * time in the digits' values, so it may decode secrets. */
hv_crypto_status hv_crypto_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t out_len,
                                      hv_crypto_err *err);

/* ---- HPKE (RFC 9180) ---------------------------------------------------------------------- */

enum {
  HPKE_KEM_P256_HKDF_SHA256 = 0x0010,
  HPKE_KDF_HKDF_SHA256 = 0x0001,
  HPKE_AEAD_AES_128_GCM = 0x0001,
  HPKE_AEAD_AES_256_GCM = 0x0002,
  HPKE_AEAD_EXPORT_ONLY = 0xFFFF,
};

typedef enum hpke_mode {
  HPKE_MODE_BASE = 0x00,
  HPKE_MODE_PSK = 0x01,
} hpke_mode;

#define HPKE_PUBLIC_KEY_LEN 65  /* Npk: SEC1 uncompressed point 04 || X || Y */
#define HPKE_PRIVATE_KEY_LEN 32 /* Nsk */
#define HPKE_ENC_LEN 65         /* Nenc */
#define HPKE_SECRET_LEN 32      /* Nsecret = Nh */
#define HPKE_TAG_LEN 16         /* Nt */
#define HPKE_NONCE_LEN 12       /* Nn */
#define HPKE_MAX_KEY_LEN 32     /* largest Nk */
/* Bounds on inputs: info, psk, psk_id, ikm and exporter_context up to HPKE_MAX_INPUT_LEN bytes;
 * plaintext, ciphertext and aad up to HPKE_MAX_MESSAGE_LEN (OpenSSL counts lengths in int). */
#define HPKE_MAX_INPUT_LEN 65536u
#define HPKE_MAX_MESSAGE_LEN (1u << 30)
#define HPKE_MAX_EXPORT_LEN (255u * 32u)

typedef struct hpke_suite {
  uint16_t kem_id;  /* HPKE_KEM_P256_HKDF_SHA256 is the only KEM */
  uint16_t kdf_id;  /* HPKE_KDF_HKDF_SHA256 is the only KDF */
  uint16_t aead_id; /* HPKE_AEAD_AES_128_GCM, HPKE_AEAD_AES_256_GCM or HPKE_AEAD_EXPORT_ONLY */
} hpke_suite;

/* The protocol's one suite: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
#define HPKE_SUITE_PROTOCOL \
  ((hpke_suite){HPKE_KEM_P256_HKDF_SHA256, HPKE_KDF_HKDF_SHA256, HPKE_AEAD_AES_256_GCM})

typedef struct hpke_public_key hpke_public_key;   /* a validated P-256 point; immutable */
typedef struct hpke_private_key hpke_private_key; /* a P-256 key pair; immutable; zeroed when freed */
typedef struct hpke_ctx hpke_ctx;                 /* an HPKE context (one side of one setup) */

/* Parses a P-256 public key given as a SEC1 uncompressed point (65 bytes) or as a DER
 * SubjectPublicKeyInfo. Rejects wrong lengths, other curves, compressed or hybrid SEC1 forms,
 * trailing bytes, points off the curve and the point at infinity (HV_CRYPTO_BAD_PUBLIC_KEY).
 * On success the caller owns *out and frees it with hpke_public_key_free(). */
hv_crypto_status hpke_public_key_parse(const uint8_t *in, size_t len, hpke_public_key **out,
                                       hv_crypto_err *err);
/* The key as a SEC1 uncompressed point, HPKE_PUBLIC_KEY_LEN bytes owned by pk. */
const uint8_t *hpke_public_key_sec1(const hpke_public_key *pk);
void hpke_public_key_free(hpke_public_key *pk);

/* A fresh random key pair. The caller owns *out (hpke_private_key_free()). */
hv_crypto_status hpke_private_key_generate(hpke_private_key **out, hv_crypto_err *err);
/* DeriveKeyPair(ikm) of RFC 9180 §7.1.3; ikm_len at least 32. The caller owns *out. */
hv_crypto_status hpke_derive_key_pair(const uint8_t *ikm, size_t ikm_len, hpke_private_key **out,
                                      hv_crypto_err *err);
/* The key pair of a big-endian scalar (DeserializePrivateKey); rejects 0 and scalars >= the group
 * order. The caller owns *out. */
hv_crypto_status hpke_private_key_import(const uint8_t sk[HPKE_PRIVATE_KEY_LEN],
                                         hpke_private_key **out, hv_crypto_err *err);
/* SerializePrivateKey into out; the caller must OPENSSL_cleanse() it after use. */
hv_crypto_status hpke_private_key_export(const hpke_private_key *sk,
                                         uint8_t out[HPKE_PRIVATE_KEY_LEN], hv_crypto_err *err);
/* The public half as a SEC1 uncompressed point, HPKE_PUBLIC_KEY_LEN bytes owned by sk. */
const uint8_t *hpke_private_key_public(const hpke_private_key *sk);
/* Frees the key; private material is cleansed. NULL is a no-op. */
void hpke_private_key_free(hpke_private_key *sk);

/* Everything SetupS/SetupR take besides the keys. Pointers may be NULL when their length is 0. */
typedef struct hpke_setup_params {
  hpke_suite suite;
  hpke_mode mode;
  const uint8_t *info;
  size_t info_len;
  const uint8_t *psk; /* mode PSK: both psk and psk_id non-empty; mode BASE: both empty */
  size_t psk_len;
  const uint8_t *psk_id;
  size_t psk_id_len;
  /* Sender only. NULL: a fresh random ephemeral key (always, outside tests). Non-NULL: the
   * ephemeral key is DeriveKeyPair(ikm_e), the RFC's deterministic test interface; reusing an
   * ikm_e destroys all confidentiality. */
  const uint8_t *ikm_e;
  size_t ikm_e_len;
} hpke_setup_params;

/* SetupBaseS / SetupPSKS: encapsulates to pkR, writes enc (HPKE_ENC_LEN bytes) and makes a sender
 * context the caller owns (hpke_ctx_free()). */
hv_crypto_status hpke_setup_sender(const hpke_setup_params *params, const hpke_public_key *pkR,
                                   uint8_t enc[HPKE_ENC_LEN], hpke_ctx **out, hv_crypto_err *err);
/* SetupBaseR / SetupPSKR: decapsulates enc (must be HPKE_ENC_LEN bytes: HV_CRYPTO_BAD_ENC
 * otherwise, or when it is not a point on the curve) with skR and makes a recipient context the
 * caller owns (hpke_ctx_free()). */
hv_crypto_status hpke_setup_recipient(const hpke_setup_params *params, const hpke_private_key *skR,
                                      const uint8_t *enc, size_t enc_len, hpke_ctx **out,
                                      hv_crypto_err *err);

/* ContextS.Seal: ct receives pt_len + HPKE_TAG_LEN bytes (ciphertext || tag); the sequence
 * number advances on success. Not for export-only suites (HV_CRYPTO_UNSUPPORTED). */
hv_crypto_status hpke_seal(hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *pt,
                           size_t pt_len, uint8_t *ct, hv_crypto_err *err);
/* ContextR.Open: pt receives ct_len - HPKE_TAG_LEN bytes (*pt_len). A changed ciphertext, tag or
 * aad, or a ct shorter than a tag, is HV_CRYPTO_DECRYPT_FAILED; pt is then zeroed and the sequence
 * number stays. */
hv_crypto_status hpke_open(hpke_ctx *ctx, const uint8_t *aad, size_t aad_len, const uint8_t *ct,
                           size_t ct_len, uint8_t *pt, size_t *pt_len, hv_crypto_err *err);
/* Context.Export: out receives L bytes (1 <= L <= HPKE_MAX_EXPORT_LEN). */
hv_crypto_status hpke_export(const hpke_ctx *ctx, const uint8_t *exporter_context,
                             size_t exporter_context_len, uint8_t *out, size_t L,
                             hv_crypto_err *err);
/* Frees the context; its secrets are cleansed. NULL is a no-op. */
void hpke_ctx_free(hpke_ctx *ctx);

/* SealBase, single shot, with a fresh ephemeral key. On success *out (caller frees with free())
 * holds enc || ct, HPKE_ENC_LEN + pt_len + HPKE_TAG_LEN bytes (*out_len). */
hv_crypto_status hpke_seal_base(hpke_suite suite, const hpke_public_key *pkR, const uint8_t *info,
                                size_t info_len, const uint8_t *aad, size_t aad_len,
                                const uint8_t *pt, size_t pt_len, uint8_t **out, size_t *out_len,
                                hv_crypto_err *err);
/* OpenBase, single shot, of enc || ct as hpke_seal_base makes it. Input shorter than
 * HPKE_ENC_LEN is HV_CRYPTO_BAD_ENC. On success *out (caller frees with free(); not NULL even when
 * the plaintext is empty) holds *out_len bytes. */
hv_crypto_status hpke_open_base(hpke_suite suite, const hpke_private_key *skR, const uint8_t *in,
                                size_t in_len, const uint8_t *info, size_t info_len,
                                const uint8_t *aad, size_t aad_len, uint8_t **out,
                                size_t *out_len, hv_crypto_err *err);

/* ---- The wire protocol's use of HPKE ------------------------------------------------------ */

#define HV_PROTOCOL_REQUEST_INFO "wasm-hypervisor/v1 request"
#define HV_PROTOCOL_RESPONSE_INFO "wasm-hypervisor/v1 response"
/* Protocol v1.1: the module and the invocation document are two messages of one context made
 * with this info; sealed errors use the second. */
#define HV_PROTOCOL_REQUEST_INFO_V11 "wasm-hypervisor/v1.1 request"
#define HV_PROTOCOL_ERROR_INFO "wasm-hypervisor/v1.1 error"
#define HV_KEY_ID_LEN 16 /* hex chars; buffers hold HV_KEY_ID_LEN + 1 */

/* key_id = lowercase hex of the first 8 bytes of SHA-256(SEC1 public key), into out (17 chars
 * with the NUL). */
hv_crypto_status hv_crypto_key_id(const uint8_t sec1[HPKE_PUBLIC_KEY_LEN],
                                  char out[HV_KEY_ID_LEN + 1], hv_crypto_err *err);

/* API keys: "hvk_" and the lowercase hex of 32 random bytes; the server stores only the SHA-256 of
 * the key's text. */
#define HV_API_KEY_PREFIX "hvk_"
#define HV_API_KEY_LEN (4 + 64) /* chars; buffers hold HV_API_KEY_LEN + 1 */

/* A new API key into key and the SHA-256 of its text into sha256. On failure nothing is left in
 * key. The caller wipes key (OPENSSL_cleanse) once it has been shown. */
hv_crypto_status hv_api_key_new(char key[HV_API_KEY_LEN + 1], uint8_t sha256[32],
                                hv_crypto_err *err);

/* Server side of a response: SealBase(pkR = client_pk, info = HV_PROTOCOL_RESPONSE_INFO,
 * aad = utf8(request_id), pt = document) with a fresh ephemeral key. *out (caller frees with
 * free()) holds enc || ct, *out_len bytes: base64 it for `encrypted_result`. */
hv_crypto_status hv_crypto_seal_response(const hpke_public_key *client_pk, const char *request_id,
                                         const uint8_t *document, size_t document_len,
                                         uint8_t **out, size_t *out_len, hv_crypto_err *err);

/* Server side of a v1.1 sealed error: the compact JSON
 * {"request_id":...,"error_code":...,"message":...} (in that order; each must be UTF-8, else
 * HV_CRYPTO_BAD_VALUE), sealed with SealBase(pkR = client_pk, info = HV_PROTOCOL_ERROR_INFO,
 * aad = utf8(request_id)) and a fresh ephemeral key. *out (caller frees with free()) holds
 * enc || ct, *out_len bytes: base64 it for `encrypted_error`. The plaintext is cleansed. */
hv_crypto_status hv_crypto_seal_error(const hpke_public_key *client_pk, const char *request_id,
                                      const char *error_code, const char *message, uint8_t **out,
                                      size_t *out_len, hv_crypto_err *err);

/* ---- Key-encryption key ------------------------------------------------------------------- */

/*
 * A key-encryption key (KEK): 32 bytes that wrap the server's private keys at rest with
 * AES-256-GCM (docs/crypto.md, "Key-encryption key"). It comes from a file that only its owner can
 * read (crypto.kek_file) or from the environment variable HV_KEK_ENV, never from the database or
 * the config text. Both forms hold 64 hex digits (a file may end with one newline; a file of
 * exactly 32 raw bytes is taken as the key itself). The bytes are cleansed when freed.
 *
 * A wrapped key is: version (1 byte, HV_KEK_WRAP_VERSION) || nonce (12, random) || ciphertext ||
 * tag (16). The AAD is "wasm-hypervisor kek v1" || NUL || key_id || version, so a wrapped key
 * cannot be moved to another key_id or replayed as another format version.
 */
typedef struct hv_kek hv_kek;

#define HV_KEK_LEN 32
#define HV_KEK_ENV "HYPERVISOR_KEK"
#define HV_KEK_WRAP_VERSION 1
#define HV_KEK_WRAP_OVERHEAD (1 + 12 + 16) /* wrapped length = plaintext length + this */
#define HV_KEK_MAX_PLAINTEXT 256

/* Reads the KEK from path: a regular file of this user, not readable or writable by group or
 * others (refused otherwise, HV_CRYPTO_KEK_INVALID naming the file). On success the caller owns
 * *out and frees it with hv_kek_free(). */
hv_crypto_status hv_kek_from_file(const char *path, hv_kek **out, hv_crypto_err *err);
/* The KEK from its text (64 hex digits, nothing else), e.g. the value of HV_KEK_ENV. The caller
 * keeps text and should cleanse it. On success the caller owns *out (hv_kek_free()). */
hv_crypto_status hv_kek_from_text(const char *text, hv_kek **out, hv_crypto_err *err);
/* Cleanses and frees. NULL is a no-op. */
void hv_kek_free(hv_kek *kek);
/* A copy of kek (the key ring keeps its own); caller frees it with hv_kek_free(). */
hv_crypto_status hv_kek_copy(const hv_kek *kek, hv_kek **out, hv_crypto_err *err);

/* Wraps in[0..in_len) (at most HV_KEK_MAX_PLAINTEXT bytes) for key_id into out, which has room for
 * in_len + HV_KEK_WRAP_OVERHEAD bytes; *out_len receives that length. */
hv_crypto_status hv_kek_wrap(const hv_kek *kek, const char *key_id, const uint8_t *in,
                             size_t in_len, uint8_t *out, size_t *out_len, hv_crypto_err *err);
/* Opens a wrapped key for key_id into out (room for in_len - HV_KEK_WRAP_OVERHEAD bytes).
 * HV_CRYPTO_KEK_MISMATCH when the tag does not check (another KEK, another key_id, or damage);
 * HV_CRYPTO_BAD_VALUE for a malformed or unknown-version blob. */
hv_crypto_status hv_kek_unwrap(const hv_kek *kek, const char *key_id, const uint8_t *in,
                               size_t in_len, uint8_t *out, size_t *out_len, hv_crypto_err *err);

/* ---- Server key ring ---------------------------------------------------------------------- */

/*
 * P-256 HPKE key pairs in a directory, one file per key (docs/crypto.md, "Key ring"). A new key
 * becomes current every rotation period; a key that has been superseded keeps decrypting for one
 * more period and is then destroyed (file removed, memory cleansed). Times are Unix seconds and
 * come from the caller: the ring never reads a clock. hv_keyring_rotate_if_due must be called
 * from time to time (each minute, or before each request: it is cheap when nothing is due).
 *
 * Threads: every function may be called from any thread at once. Decryption holds a read lock,
 * so requests decrypt in parallel; a rotation generates and persists its key without the lock and
 * takes the write lock only to swap the list.
 */
typedef struct hv_keyring hv_keyring;

#define HV_KEYRING_MAX_KEYS 8

typedef struct hv_keyring_key_info {
  char key_id[HV_KEY_ID_LEN + 1];
  uint8_t public_key[HPKE_PUBLIC_KEY_LEN]; /* SEC1 uncompressed */
  int64_t created_at;                      /* Unix seconds */
  int64_t expires_at; /* when it stops decrypting; for the current key the earliest such time */
  bool current;
} hv_keyring_key_info;

/* Opens the key ring in dir (created with mode 0700, parents too, when missing), loads its keys,
 * then does hv_keyring_rotate_if_due(now), so a new ring gets its first key and expired keys go.
 * A ring that exists but cannot be read entirely (a damaged or foreign key file, wrong owner,
 * group/other permissions on a key file) is an error, never replaced. rotation_seconds > 0.
 * On success the caller owns *out and frees it with hv_keyring_close(). */
hv_crypto_status hv_keyring_open(const char *dir, int64_t rotation_seconds, int64_t now,
                                 hv_keyring **out, hv_crypto_err *err);
/* hv_keyring_open with a KEK (may be NULL: plaintext key files, as hv_keyring_open). With a KEK,
 * new key files hold the private key wrapped (hv_kek_wrap); plaintext key files found at open are
 * rewritten wrapped before the ring is returned. Without one, a wrapped key file is refused with
 * HV_CRYPTO_KEK_INVALID; a KEK that does not open a key file is HV_CRYPTO_KEK_MISMATCH. The ring
 * keeps its own copy of the KEK. */
hv_crypto_status hv_keyring_open_kek(const char *dir, int64_t rotation_seconds, int64_t now,
                                     const hv_kek *kek, hv_keyring **out, hv_crypto_err *err);
/*
 * A shared key ring: the keys live elsewhere (a database shared by several servers, which makes
 * and destroys them; see hv_keystore.h) and this ring holds the copy this process decrypts with.
 * It starts empty, never writes a file, never makes a key: hv_keyring_rotate_if_due only destroys
 * keys whose time is over (so an expired key stops decrypting here at the same moment as
 * everywhere, even before the store deletes it), and hv_keyring_replace installs the store's set.
 */
hv_crypto_status hv_keyring_open_shared(int64_t rotation_seconds, hv_keyring **out,
                                        hv_crypto_err *err);

typedef struct hv_keyring_import {
  char key_id[HV_KEY_ID_LEN + 1];
  int64_t created_at;
  uint8_t private_key[HPKE_PRIVATE_KEY_LEN]; /* the caller cleanses it after the call */
} hv_keyring_import;

/* Makes a shared ring hold exactly `keys` (at most HV_KEYRING_MAX_KEYS), then destroys what has
 * expired at now. Keys already held are kept as they are; the others are imported (each must give
 * its key_id, else HV_CRYPTO_KEYRING_CORRUPT and the ring is unchanged); keys not in the list are
 * destroyed (memory cleansed). */
hv_crypto_status hv_keyring_replace(hv_keyring *ring, const hv_keyring_import *keys, size_t n,
                                    int64_t now, hv_crypto_err *err);

/* Frees the ring and cleanses its private keys (the files stay). NULL is a no-op. */
void hv_keyring_close(hv_keyring *ring);

/* Makes a new current key when the current one is one period old (or there is none), and
 * destroys keys superseded more than one period ago. If persisting the new key fails the ring is
 * unchanged and the error returned. */
hv_crypto_status hv_keyring_rotate_if_due(hv_keyring *ring, int64_t now, hv_crypto_err *err);

/* Copies up to cap entries, current key first then older ones, into out; *count receives the
 * number of keys in the ring (may exceed cap). */
void hv_keyring_list(hv_keyring *ring, hv_keyring_key_info *out, size_t cap, size_t *count);
/* The current key's entry. */
hv_crypto_status hv_keyring_current(hv_keyring *ring, hv_keyring_key_info *out,
                                    hv_crypto_err *err);
/* The entry of key_id (16 hex chars); HV_CRYPTO_UNKNOWN_KEY_ID when the ring has no such key. */
hv_crypto_status hv_keyring_find(hv_keyring *ring, const char *key_id, hv_keyring_key_info *out,
                                 hv_crypto_err *err);

/* OpenBase of enc || ct with the key key_id, or, when key_id is NULL or "", with each live key
 * from the current one back. An unknown key_id is HV_CRYPTO_UNKNOWN_KEY_ID, a failure with every
 * key tried HV_CRYPTO_DECRYPT_FAILED. On success *out (caller frees with free()) holds *out_len
 * bytes and used_key_id (may be NULL) the key that decrypted. */
hv_crypto_status hv_keyring_decrypt(hv_keyring *ring, const char *key_id, const uint8_t *in,
                                    size_t in_len, const uint8_t *info, size_t info_len,
                                    const uint8_t *aad, size_t aad_len, uint8_t **out,
                                    size_t *out_len, char used_key_id[HV_KEY_ID_LEN + 1],
                                    hv_crypto_err *err);

/* Server side of a request: hv_keyring_decrypt with info = HV_PROTOCOL_REQUEST_INFO and
 * aad = SEC1(client_pk) || utf8(function_name). in is the decoded `encrypted_wasm`; client_pk the
 * parsed `public_key` (its SEC1 form is bound even when the client sent DER). On success *wasm
 * (caller frees with free()) holds *wasm_len bytes. */
hv_crypto_status hv_keyring_open_request(hv_keyring *ring, const char *key_id, const uint8_t *in,
                                         size_t in_len, const hpke_public_key *client_pk,
                                         const char *function_name, uint8_t **wasm,
                                         size_t *wasm_len, char used_key_id[HV_KEY_ID_LEN + 1],
                                         hv_crypto_err *err);

/* Server side of a v1.1 request (protocol.md, "Confidential invocation"): one recipient context
 * SetupBaseR(enc, skR, info = HV_PROTOCOL_REQUEST_INFO_V11) opens two messages, both with
 * aad = SEC1(client_pk):
 *   sequence 0: in = enc || ct_wasm (the decoded `encrypted_wasm`)       -> *wasm
 *   sequence 1: invocation_ct = ct_call (the decoded `encrypted_invocation`) -> *invocation
 * With key_id NULL or "", each live key is tried from the current one back, as
 * hv_keyring_decrypt does; a key whose sequence-0 open fails is passed over. Once the module has
 * opened the key is the right one: if the invocation then fails to open (changed, from another
 * context, or the two swapped) the result is HV_CRYPTO_DECRYPT_FAILED with a message naming
 * encrypted_invocation, and no plaintext is returned. Input shorter than enc is
 * HV_CRYPTO_BAD_ENC; an unknown key_id HV_CRYPTO_UNKNOWN_KEY_ID.
 * On success *wasm (*wasm_len bytes) and *invocation (*invocation_len bytes, followed by a NUL
 * that the length does not count) are the caller's, to free with free(); both are the client's
 * secrets, so the caller cleanses them (OPENSSL_cleanse) before freeing. used_key_id (may be
 * NULL) receives the key that opened them. On failure both are NULL. */
hv_crypto_status hv_keyring_open_request_v11(hv_keyring *ring, const char *key_id,
                                             const uint8_t *in, size_t in_len,
                                             const uint8_t *invocation_ct,
                                             size_t invocation_ct_len,
                                             const hpke_public_key *client_pk, uint8_t **wasm,
                                             size_t *wasm_len, uint8_t **invocation,
                                             size_t *invocation_len,
                                             char used_key_id[HV_KEY_ID_LEN + 1],
                                             hv_crypto_err *err);

/* ---- Commitments and the result document -------------------------------------------------- */

#define HV_COMMIT_NONCE_LEN 32
#define HV_COMMIT_HEX_LEN 64 /* hex chars; buffers hold HV_COMMIT_HEX_LEN + 1 */
#define HV_COMMIT_PROGRAM_LABEL "wasm-hypervisor/v1 program"
#define HV_COMMIT_ARGUMENTS_LABEL "wasm-hypervisor/v1 arguments"
#define HV_COMMIT_MAX_VALUES 1000 /* arguments or results in one document */
/* Bytes of a result document the parser takes (hv_commit_document_parse). A string or bytes
 * result is at most wasm.max_result_bytes (16 MiB): as base64 that is 22 MiB of JSON, and a
 * string whose every byte JSON escapes as \u00XX is 96 MiB; 128 MiB leaves room for the rest.
 * Building a document has no such limit. */
#define HV_COMMIT_MAX_DOCUMENT ((size_t)128 << 20)

/* 32 fresh random bytes from OpenSSL's CSPRNG. */
hv_crypto_status hv_commit_nonce(uint8_t nonce[HV_COMMIT_NONCE_LEN], hv_crypto_err *err);

/* Lowercase hex SHA-256 of data (the document's `program_sha256` is this of the wasm). */
hv_crypto_status hv_commit_sha256_hex(const uint8_t *data, size_t len,
                                      char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err);

/* result_commitment = SHA-256(result document bytes), lowercase hex. */
hv_crypto_status hv_commit_result(const uint8_t *document, size_t len,
                                  char out[HV_COMMIT_HEX_LEN + 1], hv_crypto_err *err);
/* program_commitment = SHA-256("wasm-hypervisor/v1 program" || 0x00 || nonce || wasm). */
hv_crypto_status hv_commit_program(const uint8_t nonce[HV_COMMIT_NONCE_LEN], const uint8_t *wasm,
                                   size_t wasm_len, char out[HV_COMMIT_HEX_LEN + 1],
                                   hv_crypto_err *err);
/* arguments_commitment = SHA-256("wasm-hypervisor/v1 arguments" || 0x00 || nonce || canonical
 * arguments), hashed as it is encoded (no copy of string or bytes values is made). Errors as
 * hv_commit_canonical_arguments gives them. */
hv_crypto_status hv_commit_arguments(const uint8_t nonce[HV_COMMIT_NONCE_LEN], const hv_value *args,
                                     size_t count, char out[HV_COMMIT_HEX_LEN + 1],
                                     hv_crypto_err *err);

/* The canonical argument bytes (docs/crypto.md, "Canonical argument bytes"), per argument in
 * order, with no count or separator:
 *   i32, f32       type code (0x7F, 0x7D), then the 4-byte bit pattern little-endian
 *   i64, f64       type code (0x7E, 0x7C), then the 8-byte bit pattern little-endian
 *   string         0x73, the length as a u64 little-endian, then the UTF-8 bytes
 *   bytes          0x62, the length as a u64 little-endian, then the bytes
 * out holds cap bytes (hv_commit_canonical_size(args, count) of them suffice); *len receives the
 * length. HV_CRYPTO_BAD_VALUE for more than HV_COMMIT_MAX_VALUES arguments, a type without a
 * canonical form (references, v128) or a string that is not valid UTF-8 (NULs are allowed);
 * HV_CRYPTO_INVALID_ARGUMENT when cap is too small or a value's data is NULL with len > 0. */
hv_crypto_status hv_commit_canonical_arguments(const hv_value *args, size_t count, uint8_t *out,
                                               size_t cap, size_t *len, hv_crypto_err *err);

/* The exact number of bytes hv_commit_canonical_arguments writes for args: 5 per i32/f32, 9 per
 * i64/f64, 9 + len per string or bytes. SIZE_MAX when the sum overflows size_t, when args is
 * NULL with count > 0, or when a value has a type without a canonical form (the encoder says
 * which). Does not check UTF-8. */
size_t hv_commit_canonical_size(const hv_value *args, size_t count);

/* Compares two 64-char hex digests in constant time, ignoring case; false if either is not
 * 64 hex chars. */
bool hv_commit_hex_equal(const char *a, const char *b);

/* A decoded result document. Everything in it belongs to it, the data of its string and bytes
 * results included (hv_commit_document_free cleanses and frees them). */
typedef struct hv_result_document {
  char *request_id;
  char *function_name;
  /* result_count values. Numeric ones in `num`, NaNs as the canonical quiet NaN. A string's or
   * bytes' data (its UTF-8 or decoded bytes, followed by a NUL that len does not count, so a
   * string without NULs is also a C string) is never NULL, even when len is 0. */
  hv_value *results;
  size_t result_count;
  /* A WASI command's document (protocol v1.1, "WASI stdio profile") has, instead of results
   * (result_count 0), its exit code and what it wrote to stdout and stderr: decoded bytes,
   * followed by a NUL that the length does not count, never NULL when `wasi` is set. */
  bool wasi;
  uint32_t exit_code;
  uint8_t *stdout_data;
  size_t stdout_len;
  uint8_t *stderr_data;
  size_t stderr_len;
  char program_sha256[HV_COMMIT_HEX_LEN + 1];
  uint8_t nonce[HV_COMMIT_NONCE_LEN];
} hv_result_document;

/* Serialises the result document as compact UTF-8 JSON in the protocol's key order
 * (request_id, function_name, results, program_sha256, nonce) and value forms (i64 as a string
 * from 2^53 on; NaN and infinities as "nan", "inf", "-inf"; a string as a JSON string, NULs
 * written \u0000; bytes as standard base64). Strings, request_id and function_name must be valid
 * UTF-8 (HV_CRYPTO_BAD_VALUE otherwise, as for a type without a form). *out (caller frees with
 * free()) is NUL-terminated; *out_len excludes the NUL. These bytes are what result_commitment
 * hashes. No size limit beyond what memory and size_t allow. */
hv_crypto_status hv_commit_document_build(const char *request_id, const char *function_name,
                                          const hv_value *results, size_t result_count,
                                          const char program_sha256[HV_COMMIT_HEX_LEN + 1],
                                          const uint8_t nonce[HV_COMMIT_NONCE_LEN], char **out,
                                          size_t *out_len, hv_crypto_err *err);
/* A WASI command's result document (protocol v1.1, "WASI stdio profile"), compact, in the
 * protocol's key order: request_id, function_name, exit_code (a JSON integer), stdout and stderr
 * (standard base64), program_sha256, nonce. Otherwise as hv_commit_document_build (stdout_data
 * and stderr_data may be NULL when their length is 0). */
hv_crypto_status hv_commit_wasi_document_build(const char *request_id, const char *function_name,
                                               uint32_t exit_code, const uint8_t *stdout_data,
                                               size_t stdout_len, const uint8_t *stderr_data,
                                               size_t stderr_len,
                                               const char program_sha256[HV_COMMIT_HEX_LEN + 1],
                                               const uint8_t nonce[HV_COMMIT_NONCE_LEN], char **out,
                                               size_t *out_len, hv_crypto_err *err);
/* Parses a result document of at most HV_COMMIT_MAX_DOCUMENT bytes, a function's (`results`) or a
 * WASI command's (`exit_code`, `stdout`, `stderr`: doc->wasi set) (HV_CRYPTO_BAD_DOCUMENT for
 * anything larger or malformed: a duplicate key, both forms or neither, an out-of-range or
 * ill-typed value, bad base64 in a bytes value or an output). The caller owns *out and frees it
 * with hv_commit_document_free(). */
hv_crypto_status hv_commit_document_parse(const uint8_t *json, size_t len,
                                          hv_result_document **out, hv_crypto_err *err);
/* Frees doc and everything it owns; string and bytes data are cleansed first. NULL is a no-op. */
void hv_commit_document_free(hv_result_document *doc);

#ifdef __cplusplus
}
#endif

#endif /* HV_CRYPTO_H */
