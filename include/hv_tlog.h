/*
 * hv_tlog.h: the transparency log's pure parts (docs/audit.md, "The transparency log").
 *
 *   Merkle tree   RFC 9162 section 2.1 (SHA-256): leaf and node hashes, roots and proofs built
 *                 from a node reader, and the verification of inclusion and consistency proofs.
 *   Signed notes  C2SP signed-note and tlog-checkpoint with an Ed25519 key (OpenSSL 3 EVP): the
 *                 checkpoint body, its signature line, key ids and verifier keys.
 *
 * Nothing here touches a file or the network; the server stores the tree (through hv_audit) and
 * the key, hvctl verifies receipts and checkpoints offline with the same code.
 *
 * A "complete subtree" (level L, index k) is the Merkle tree hash of the 2^L leaves
 * [k * 2^L, (k + 1) * 2^L); a store keeps these (they never change once complete), and every root
 * and proof is put together from O(log n) of them.
 *
 * No global mutable state.
 */
#ifndef HV_TLOG_H
#define HV_TLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HV_TLOG_HASH_LEN 32
/* A proof has at most one hash per level of a tree of 2^63 leaves (consistency: one more). */
#define HV_TLOG_PROOF_MAX 64

/* X(name, message). Append only. */
#define HV_TLOG_STATUS_MAP(X)                                                  \
  X(HV_TLOG_OK, "ok")                                                          \
  X(HV_TLOG_INVALID_ARGUMENT, "invalid argument")                              \
  X(HV_TLOG_PROOF_INVALID, "the proof does not verify")                        \
  X(HV_TLOG_NODE_MISSING, "a tree node is missing from the store")             \
  X(HV_TLOG_BAD_NOTE, "malformed signed note or checkpoint")                   \
  X(HV_TLOG_BAD_SIGNATURE, "no valid signature by the log key")                \
  X(HV_TLOG_BAD_KEY, "malformed log key")                                      \
  X(HV_TLOG_CRYPTO, "the crypto library failed")

typedef enum hv_tlog_status {
#define HV_TLOG__ENUM(name, text) name,
  HV_TLOG_STATUS_MAP(HV_TLOG__ENUM)
#undef HV_TLOG__ENUM
} hv_tlog_status;

/* "ok", "the proof does not verify", ...; never NULL. */
const char *hv_tlog_status_text(hv_tlog_status status);

/* ---- Merkle tree ----------------------------------------------------------------------------- */

/* SHA-256(0x00 || data). */
void hv_tlog_leaf_hash(const void *data, size_t len, uint8_t out[HV_TLOG_HASH_LEN]);
/* SHA-256(0x01 || left || right). */
void hv_tlog_node_hash(const uint8_t left[HV_TLOG_HASH_LEN], const uint8_t right[HV_TLOG_HASH_LEN],
                       uint8_t out[HV_TLOG_HASH_LEN]);
/* SHA-256 of nothing: the root of the empty tree. */
void hv_tlog_empty_root(uint8_t out[HV_TLOG_HASH_LEN]);

/* Reads the complete subtree (level, index) into out; false when the store does not have it. */
typedef bool (*hv_tlog_node_fn)(void *ctx, unsigned level, uint64_t index,
                                uint8_t out[HV_TLOG_HASH_LEN]);
/* Stores the complete subtree (level, index); false when the store failed. */
typedef bool (*hv_tlog_store_fn)(void *ctx, unsigned level, uint64_t index,
                                 const uint8_t hash[HV_TLOG_HASH_LEN]);

/*
 * Appends leaf `index` (== the tree size before it) with `leaf_hash`: stores the leaf as (0, index)
 * and every subtree it completes, reading their left halves through `get`. NODE_MISSING or
 * INVALID_ARGUMENT (a put failed) on failure; the caller's transaction is then to be rolled back.
 */
hv_tlog_status hv_tlog_append(hv_tlog_node_fn get, hv_tlog_store_fn put, void *ctx, uint64_t index,
                              const uint8_t leaf_hash[HV_TLOG_HASH_LEN]);

/* The root of the tree of `size` leaves (the empty root for 0). */
hv_tlog_status hv_tlog_root(hv_tlog_node_fn get, void *ctx, uint64_t size,
                            uint8_t out[HV_TLOG_HASH_LEN]);

/* RFC 9162 2.1.3.1: the inclusion proof of leaf `index` in the tree of `size` leaves, into
 * proof[0..*count) (at most HV_TLOG_PROOF_MAX). INVALID_ARGUMENT unless index < size. */
hv_tlog_status hv_tlog_prove_inclusion(hv_tlog_node_fn get, void *ctx, uint64_t index,
                                       uint64_t size, uint8_t proof[][HV_TLOG_HASH_LEN],
                                       size_t *count);

/* RFC 9162 2.1.4.1: the consistency proof from size `old_size` to `new_size`.
 * INVALID_ARGUMENT unless 0 < old_size <= new_size (old_size == new_size: an empty proof). */
hv_tlog_status hv_tlog_prove_consistency(hv_tlog_node_fn get, void *ctx, uint64_t old_size,
                                         uint64_t new_size, uint8_t proof[][HV_TLOG_HASH_LEN],
                                         size_t *count);

/* RFC 9162 2.1.3.2: OK when `proof` shows leaf `index` with `leaf_hash` in the tree of `size`
 * leaves whose root is `root`; PROOF_INVALID otherwise (also for index >= size). */
hv_tlog_status hv_tlog_verify_inclusion(uint64_t index, uint64_t size,
                                        const uint8_t leaf_hash[HV_TLOG_HASH_LEN],
                                        const uint8_t proof[][HV_TLOG_HASH_LEN], size_t count,
                                        const uint8_t root[HV_TLOG_HASH_LEN]);

/* RFC 9162 2.1.4.2: OK when `proof` shows the tree of old_size leaves (old_root) is a prefix of
 * the tree of new_size leaves (new_root). old_size == new_size needs an empty proof and equal
 * roots; old_size == 0 is refused (a proof from the empty tree means nothing). */
hv_tlog_status hv_tlog_verify_consistency(uint64_t old_size, uint64_t new_size,
                                          const uint8_t old_root[HV_TLOG_HASH_LEN],
                                          const uint8_t new_root[HV_TLOG_HASH_LEN],
                                          const uint8_t proof[][HV_TLOG_HASH_LEN], size_t count);

/* ---- Signed notes and checkpoints (C2SP) ----------------------------------------------------- */

#define HV_TLOG_ED25519_PUBLIC_LEN 32
#define HV_TLOG_ED25519_SEED_LEN 32
#define HV_TLOG_ED25519_SIG_LEN 64
#define HV_TLOG_KEY_NAME_MAX 128   /* bytes of a key name / origin */
#define HV_TLOG_NOTE_MAX 4096      /* bytes of a checkpoint note we make or accept */
#define HV_TLOG_VERIFIER_KEY_MAX (HV_TLOG_KEY_NAME_MAX + 64)

/* The log's signing key: an Ed25519 seed and its name (the checkpoint origin). */
typedef struct hv_tlog_signer {
  char name[HV_TLOG_KEY_NAME_MAX];
  uint8_t seed[HV_TLOG_ED25519_SEED_LEN]; /* secret: zero with hv_tlog_signer_wipe */
  uint8_t public_key[HV_TLOG_ED25519_PUBLIC_LEN];
  uint32_t key_id; /* first 4 bytes of SHA-256(name || "\n" || 0x01 || public_key), big-endian */
} hv_tlog_signer;

/* The verifier side: a name, a public key and its key id. */
typedef struct hv_tlog_verifier {
  char name[HV_TLOG_KEY_NAME_MAX];
  uint8_t public_key[HV_TLOG_ED25519_PUBLIC_LEN];
  uint32_t key_id;
} hv_tlog_verifier;

/* A key name is 1..HV_TLOG_KEY_NAME_MAX-1 printable ASCII bytes without space or '+'. */
bool hv_tlog_key_name_valid(const char *name);

/* Fills `out` from a 32-byte seed (the public key and key id are derived). */
hv_tlog_status hv_tlog_signer_init(hv_tlog_signer *out, const char *name,
                                   const uint8_t seed[HV_TLOG_ED25519_SEED_LEN]);
/* Zeroes the seed (and the rest). */
void hv_tlog_signer_wipe(hv_tlog_signer *signer);

/* The verifier key text "name+hhhhhhhh+base64(0x01 || public_key)" (NUL-terminated). */
hv_tlog_status hv_tlog_verifier_key_format(const hv_tlog_signer *signer,
                                           char out[HV_TLOG_VERIFIER_KEY_MAX]);
/* Parses that text; checks that the key id matches the name and key. */
hv_tlog_status hv_tlog_verifier_key_parse(const char *text, hv_tlog_verifier *out);

/* A parsed checkpoint (its body; the signature lines are checked, not kept). */
typedef struct hv_tlog_checkpoint {
  char origin[HV_TLOG_KEY_NAME_MAX];
  uint64_t size;
  uint8_t root[HV_TLOG_HASH_LEN];
} hv_tlog_checkpoint;

/*
 * The signed note of a checkpoint: "ORIGIN\nSIZE\nBASE64(ROOT)\n\n— NAME BASE64(KEYID || SIG)\n",
 * the origin being the signer's name. NUL-terminated into out (HV_TLOG_NOTE_MAX bytes); *len (may
 * be NULL) gets its length.
 */
hv_tlog_status hv_tlog_checkpoint_sign(const hv_tlog_signer *signer, uint64_t size,
                                       const uint8_t root[HV_TLOG_HASH_LEN],
                                       char out[HV_TLOG_NOTE_MAX], size_t *len);

/*
 * Parses a signed checkpoint note (len bytes, at most HV_TLOG_NOTE_MAX) and checks it: the body's
 * three lines, extension lines allowed and ignored, a blank line, signature lines; OK only when
 * one of them is a valid signature by `verifier` and the origin equals the verifier's name.
 * Signature lines of other keys are ignored (C2SP: verifiers skip unknown keys).
 */
hv_tlog_status hv_tlog_checkpoint_open(const char *note, size_t len,
                                       const hv_tlog_verifier *verifier, hv_tlog_checkpoint *out);

/* ---- Base64 (standard alphabet, padded), as checkpoints and proofs carry hashes ------------- */

/* Encodes len bytes into out (at least 4 * ((len + 2) / 3) + 1 bytes); returns the text length. */
size_t hv_tlog_base64_encode(const uint8_t *data, size_t len, char *out);
/* Decodes exactly `want` bytes from NUL-terminated text; false when malformed or another length. */
bool hv_tlog_base64_decode(const char *text, uint8_t *out, size_t want);
/* Decodes at most `max` bytes; *len gets the count; false when malformed or too long. */
bool hv_tlog_base64_decode_var(const char *text, uint8_t *out, size_t max, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* HV_TLOG_H */
