/*
 * hv_client.h: the client's side of the protocol's encrypted round trip (protocol.md,
 * "Cryptography"), without any HTTP: make a key pair per request, seal the module to the server's
 * key, open the sealed result, and check the result document against the three commitments.
 *
 *   key = hv_client_key_generate()              fresh for every request
 *   GET /v1/keys -> the current key's public_key (base64: hv_crypto_base64_decode) and key_id
 *   hv_client_seal_request(key, server key, function_name, wasm) -> encrypted_wasm
 *   POST /v1/execute {encrypted_wasm, key_id, function_name, arguments,
 *                     public_key = hv_client_key_public_base64(key)}
 *   hv_client_open_response_base64(key, request_id, encrypted_result) -> result document
 *   hv_client_check_result(document, what was sent and the response's commitments)
 *
 * Protocol v1.1 (confidential invocation) differs in the request and in failures:
 *   hv_client_invocation_build(function_name, arguments, result type) -> invocation document
 *   (a WASI command's: hv_client_wasi_invocation_build(argv, stdin))
 *   hv_client_seal_request_v11(key, server key, wasm, invocation)
 *       -> encrypted_wasm, encrypted_invocation (one HPKE context, messages 0 and 1)
 *   POST /v1/execute {encrypted_wasm, encrypted_invocation, key_id, public_key}
 *   on an error reply with encrypted_error:
 *   hv_client_open_error_base64(key, request_id, encrypted_error) -> error_code, message
 *
 * Errors and threads as in hv_crypto.h (hv_crypto_status, hv_crypto_err). Every buffer a call
 * returns belongs to the caller; each comment names the function that frees it.
 */
#ifndef HV_CLIENT_H
#define HV_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "hv_crypto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A client's P-256 key pair for one request; its private half never leaves the process. */
typedef struct hv_client_key hv_client_key;

/* A fresh random key pair. The caller owns *out and frees it with hv_client_key_free(). */
hv_crypto_status hv_client_key_generate(hv_client_key **out, hv_crypto_err *err);
/* The public key as a SEC1 uncompressed point: HPKE_PUBLIC_KEY_LEN bytes owned by key. */
const uint8_t *hv_client_key_public(const hv_client_key *key);
/* The public key in standard base64, for the request's `public_key`. *out is NUL-terminated;
 * the caller frees it with free(). */
hv_crypto_status hv_client_key_public_base64(const hv_client_key *key, char **out,
                                             hv_crypto_err *err);
/* Frees the key pair; the private key is cleansed. NULL is a no-op. */
void hv_client_key_free(hv_client_key *key);

/* A sealed request body. Both buffers belong to the struct: free them with
 * hv_client_sealed_free(). */
typedef struct hv_client_sealed {
  uint8_t *bytes;    /* enc || ct, len bytes */
  size_t len;
  char *base64;      /* standard base64 of bytes, NUL-terminated: the `encrypted_wasm` */
  size_t base64_len; /* without the NUL */
} hv_client_sealed;

/* SealBase(pkR = server key, info = "wasm-hypervisor/v1 request",
 *          aad = SEC1(key) || utf8(function_name), pt = wasm) with a fresh ephemeral key.
 * server_public_key is the server's key as a SEC1 point or a DER SubjectPublicKeyInfo
 * (HV_CRYPTO_BAD_PUBLIC_KEY otherwise). On success *out is filled (free with
 * hv_client_sealed_free()); on failure it is zeroed. */
hv_crypto_status hv_client_seal_request(const hv_client_key *key, const uint8_t *server_public_key,
                                        size_t server_public_key_len, const char *function_name,
                                        const uint8_t *wasm, size_t wasm_len,
                                        hv_client_sealed *out, hv_crypto_err *err);
/* Protocol v1.1: the module and the invocation document as two messages of one HPKE context,
 *   enc, ctx = SetupBaseS(pkR = server key, info = "wasm-hypervisor/v1.1 request")
 *   ct_wasm  = ctx.Seal(aad = SEC1(key), pt = wasm)        sequence 0
 *   ct_call  = ctx.Seal(aad = SEC1(key), pt = invocation)  sequence 1
 * with a fresh ephemeral key. On success *out_wasm holds enc || ct_wasm (its base64 is the
 * request's `encrypted_wasm`) and *out_invocation holds ct_call (its base64 is
 * `encrypted_invocation`); free each with hv_client_sealed_free(). On failure both are zeroed.
 * server_public_key as for hv_client_seal_request; invocation is the document
 * hv_client_invocation_build makes (the library does not look into it). */
hv_crypto_status hv_client_seal_request_v11(const hv_client_key *key,
                                            const uint8_t *server_public_key,
                                            size_t server_public_key_len, const uint8_t *wasm,
                                            size_t wasm_len, const uint8_t *invocation,
                                            size_t invocation_len, hv_client_sealed *out_wasm,
                                            hv_client_sealed *out_invocation, hv_crypto_err *err);

/* The v1.1 invocation document as compact UTF-8 JSON, members in this order:
 *   {"function_name":"add","arguments":[{"type":"i32","value":84},{"type":"string","value":"hi"},
 *    {"type":"bytes","value":"<base64>"}],"results":["bytes"]}
 * Arguments in the result document's value forms (hv_commit_document_build: i64 as a decimal
 * string from 2^53 on, NaN and infinities as "nan", "inf", "-inf", bytes as standard base64).
 * `results` is written only when result_type is HV_TYPE_STRING or HV_TYPE_BYTES (a declared
 * single string or bytes result); 0 declares nothing, and any other value is
 * HV_CRYPTO_INVALID_ARGUMENT. function_name and string arguments must be UTF-8
 * (HV_CRYPTO_BAD_VALUE); at most HV_COMMIT_MAX_VALUES arguments. On success *out (caller frees
 * with free(); it holds the arguments, so cleanse it first if they are secret) is NUL-terminated
 * and *out_len (may be NULL) its length without the NUL. */
hv_crypto_status hv_client_invocation_build(const char *function_name, const hv_value *args,
                                            size_t arg_count, hv_type result_type, char **out,
                                            size_t *out_len, hv_crypto_err *err);

/* The v1.1 POST /v1/execute body: {"encrypted_wasm":"<wasm's base64>","encrypted_invocation":
 * "<invocation's base64>"} followed by the members of `members` (may be NULL): the compact text
 * of a JSON object, e.g. jansson's dump of {"public_key":...,"key_id":...}, whose members are
 * appended as they are. The base64 texts are copied, not re-escaped. HV_CRYPTO_INVALID_ARGUMENT
 * when a sealed message is missing or `members` is not "{...}". On success *out (caller frees) is
 * NUL-terminated and *out_len (may be NULL) its length. */
hv_crypto_status hv_client_request_body_v11(const hv_client_sealed *wasm,
                                            const hv_client_sealed *invocation,
                                            const char *members, char **out, size_t *out_len,
                                            hv_crypto_err *err);

/* hv_client_seal_request_v11 and hv_client_request_body_v11 in one step and one buffer: the
 * body with both ciphertexts sealed and encoded in place (the fast way for large arguments).
 * Statuses as the two functions; on success *out (caller frees) and *out_len (may be NULL). */
hv_crypto_status hv_client_seal_request_body_v11(const hv_client_key *key,
                                                 const uint8_t *server_public_key,
                                                 size_t server_public_key_len,
                                                 const uint8_t *wasm, size_t wasm_len,
                                                 const uint8_t *invocation, size_t invocation_len,
                                                 const char *members, char **out, size_t *out_len,
                                                 hv_crypto_err *err);

/* The v1.1 invocation document of a WASI command (protocol v1.1, "WASI stdio profile"), compact:
 *   {"function_name":"_start","argv":["wc","-l"],"stdin":"<base64>"}
 * argv is the program's whole argv, argv[0] included (docs/protocol.md); both members are always
 * written, so the server knows a command is meant. Its arguments_commitment covers the argv
 * strings (as string values) then stdin (as one bytes value): pass those to
 * hv_client_check_result. Strings must be UTF-8 (HV_CRYPTO_BAD_VALUE); at most
 * HV_COMMIT_MAX_VALUES - 1 of them. *out (caller frees with free(); cleanse it first, it holds
 * stdin) is NUL-terminated and *out_len (may be NULL) its length without the NUL. */
hv_crypto_status hv_client_wasi_invocation_build(const char *const *argv, size_t argc,
                                                 const uint8_t *stdin_data, size_t stdin_len,
                                                 char **out, size_t *out_len, hv_crypto_err *err);

/* Frees the buffers of sealed and zeroes it; the struct itself is the caller's. */
void hv_client_sealed_free(hv_client_sealed *sealed);

/* OpenBase(skR = key, info = "wasm-hypervisor/v1 response", aad = utf8(request_id)) of the
 * decoded `encrypted_result`. On success *document (caller frees with free()) holds the result
 * document's bytes, *document_len of them, NUL-terminated for convenience. A response sealed to
 * another key, for another request_id or changed on the way is HV_CRYPTO_DECRYPT_FAILED. */
hv_crypto_status hv_client_open_response(const hv_client_key *key, const char *request_id,
                                         const uint8_t *sealed, size_t sealed_len,
                                         uint8_t **document, size_t *document_len,
                                         hv_crypto_err *err);
/* The same from the base64 text of `encrypted_result` (standard or base64url). */
hv_crypto_status hv_client_open_response_base64(const hv_client_key *key, const char *request_id,
                                                const char *encrypted_result, size_t len,
                                                uint8_t **document, size_t *document_len,
                                                hv_crypto_err *err);

/* Largest sealed error document hv_client_open_error_base64 opens (plaintext bytes). */
#define HV_CLIENT_MAX_ERROR_DOCUMENT ((size_t)1 << 20)

/* Protocol v1.1: opens an error reply's `encrypted_error` (base64, standard or base64url, len
 * chars): OpenBase(skR = key, info = "wasm-hypervisor/v1.1 error", aad = utf8(request_id)) of
 * enc || ct, whose plaintext is {"request_id", "error_code", "message"} (other members are
 * ignored). A document for another request_id than the reply's is HV_CRYPTO_DOCUMENT_MISMATCH;
 * one that is not such a JSON object (or holds a NUL in a string) HV_CRYPTO_BAD_DOCUMENT; one
 * sealed to another key, for another request_id or changed on the way HV_CRYPTO_DECRYPT_FAILED.
 * On success *error_code and *message are NUL-terminated strings the caller frees with free();
 * on failure both are NULL. */
hv_crypto_status hv_client_open_error_base64(const hv_client_key *key, const char *request_id,
                                             const char *encrypted_error, size_t len,
                                             char **error_code, char **message,
                                             hv_crypto_err *err);

/* What the client sent and what the response claims; the library keeps no pointer to it. */
typedef struct hv_client_expected {
  const char *request_id;    /* the response's request_id (the response's aad) */
  const char *function_name; /* as sent */
  const uint8_t *wasm;       /* the module as sent (before sealing) */
  size_t wasm_len;
  /* As the function receives them: typed per its signature (numbers), strings and bytes as
   * sent; the commitment covers their canonical bytes. */
  const hv_value *arguments;
  size_t argument_count;
  /* The response's commitments (hex); NULL skips that comparison. */
  const char *result_commitment;
  const char *program_commitment;
  const char *arguments_commitment;
} hv_client_expected;

/* The commitments recomputed from the document, for GET /v1/verify. */
typedef struct hv_client_commitments {
  char result[HV_COMMIT_HEX_LEN + 1];
  char program[HV_COMMIT_HEX_LEN + 1];
  char arguments[HV_COMMIT_HEX_LEN + 1];
} hv_client_commitments;

/* Parses the decrypted document and checks it: its request_id and function_name are the
 * expected ones and its program_sha256 is SHA-256(wasm) (else HV_CRYPTO_DOCUMENT_MISMATCH), and
 * the commitments recomputed with its nonce equal the response's (else
 * HV_CRYPTO_COMMITMENT_MISMATCH, naming which). computed (may be NULL) receives the recomputed
 * commitments whenever the document parsed. On success, if out is not NULL, the caller owns *out
 * (the parsed document with the results) and frees it with hv_commit_document_free(). */
hv_crypto_status hv_client_check_result(const uint8_t *document, size_t document_len,
                                        const hv_client_expected *expected,
                                        hv_result_document **out, hv_client_commitments *computed,
                                        hv_crypto_err *err);

#ifdef __cplusplus
}
#endif

#endif /* HV_CLIENT_H */
