/*
 * srv_request.h: the body of POST /v1/execute (protocol.md, "POST /v1/execute") parsed and
 * checked, with no server state: body bytes and two configuration bounds in, a request or the
 * error the service answers out. srv_execute.c calls it; fuzz/targets/fuzz_request.c fuzzes it.
 *
 * The checks run in a fixed order and the first failure is the answer: empty body, JSON syntax
 * (duplicate keys rejected), a JSON object, unknown fields, encrypted_wasm (base64),
 * encrypted_invocation (protocol v1.1: base64, and then neither function_name nor arguments), else
 * function_name, public_key (base64, then a P-256 key: ENCRYPTION_ERROR), key_id, arguments,
 * request_metadata, timeout_seconds, gas_limit.
 *
 * A v1.1 request's invocation document (the plaintext of encrypted_invocation, once opened) is
 * parsed by srv_invocation_parse: function_name, arguments, results, stdin, argv.
 */
#ifndef HV_SERVER_SRV_REQUEST_H
#define HV_SERVER_SRV_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "executor.h"
#include "hv_crypto.h"
#include "outcome.h"

/* Bytes of an error message, NUL included (what srv_execute.c's error replies keep). */
#define SRV_REQUEST_MESSAGE_MAX (EXEC_MESSAGE_MAX + 64)

/* The configuration the checks need (hv_config's wasm section). */
typedef struct srv_request_bounds {
  uint64_t max_timeout_s;     /* wasm.max_execution_time_seconds: timeout_seconds is capped to it */
  uint64_t default_gas_limit; /* wasm.default_gas_limit: the default, and gas_limit's cap */
} srv_request_bounds;

/* A parsed request. Owns root, ciphertext, args, client_pk and metadata; function_name, key_id
 * and the `text` of EXEC_ARG_TEXT arguments point into root and live as long as it does. */
/* A parsed request. Owns root, ciphertext, invocation_ct, invocation_root, args (and the bytes
 * of its `bytes` arguments), results, stdin, argv, client_pk and metadata; function_name, key_id,
 * argv's strings, the `text` of EXEC_ARG_TEXT arguments and the `data` of string arguments point
 * into root or invocation_root and live as long as they do. */
typedef struct srv_exec_request {
  json_t *root;                /* the parsed body */
  uint8_t *ciphertext;         /* encrypted_wasm decoded (enc || ct), never NULL on success */
  size_t ciphertext_len;
  uint8_t *invocation_ct;      /* encrypted_invocation decoded (v1.1), or NULL (a v1 request) */
  size_t invocation_ct_len;
  json_t *invocation_root;     /* the opened invocation document (srv_invocation_parse) */
  const char *key_id;          /* HV_KEY_ID_LEN lowercase hex digits, or NULL when absent */
  const char *function_name;   /* 1 to SRV_FUNCTION_NAME_MAX bytes of UTF-8, no NUL; NULL in a
                                  v1.1 request until its invocation is parsed */
  exec_arg *args;              /* arg_count of them (at most SRV_MAX_ARGUMENTS); NULL when absent */
  size_t arg_count;
  /* v1.1 invocation: the declared results (NULL: none declared, the export's own), at most
   * SRV_MAX_ARGUMENTS; a string or bytes result is the only one. */
  hv_type *results;
  size_t result_count;
  uint8_t *stdin_bytes;        /* v1.1 `stdin` decoded, stdin_len bytes; NULL when absent */
  size_t stdin_len;
  const char **argv;           /* v1.1 `argv`: argc strings without NUL; NULL when absent */
  size_t argc;
  bool wasi_given;             /* the invocation had `argv` or `stdin` (a WASI command's inputs) */
  hpke_public_key *client_pk;  /* public_key, parsed */
  char *metadata;              /* request_metadata as compact JSON (<= SRV_METADATA_MAX), or NULL */
  uint64_t timeout_s;          /* 1 .. bounds->max_timeout_s */
  uint64_t gas_limit;          /* 1 .. bounds->default_gas_limit */
} srv_exec_request;

/*
 * Parses body[0..len) into *out. Returns OUTCOME_OK, or the error the service answers with
 * (OUTCOME_INVALID_REQUEST; OUTCOME_ENCRYPTION_ERROR when public_key is valid base64 but not a
 * P-256 key; OUTCOME_INTERNAL_ERROR when memory ran out) and a message naming the field in
 * msg[SRV_REQUEST_MESSAGE_MAX]. The caller owns *out after either outcome and releases it with
 * srv_exec_request_free(). On failure everything in *out is zero except `metadata`, kept when
 * request_metadata had been accepted before a later field failed (the error's audit record
 * carries it). `body` is only read during the call, and HV_JSON_PADDING (64) readable bytes of any
 * value must follow it: the JSON parser reads the text in place (srv_on_body allocates them).
 */
outcome_code srv_exec_request_parse(const uint8_t *body, size_t len,
                                    const srv_request_bounds *bounds, srv_exec_request *out,
                                    char msg[SRV_REQUEST_MESSAGE_MAX]);

/*
 * Parses a v1.1 invocation document (doc[0..len), the opened encrypted_invocation) into req's
 * function_name, args, results, stdin and argv; the rest of req is not touched. Returns
 * OUTCOME_OK, or OUTCOME_INVALID_REQUEST (OUTCOME_INTERNAL_ERROR when memory ran out) with a
 * message naming the member in msg; the invocation's fields are then zero again. The message may
 * quote the document: it is for the client alone (a sealed error), never for a log line. `doc`
 * is only read during the call.
 */
outcome_code srv_invocation_parse(const uint8_t *doc, size_t len, srv_exec_request *req,
                                  char msg[SRV_REQUEST_MESSAGE_MAX]);

/* Frees what *req owns and zeroes it. Safe on a zeroed request. */
void srv_exec_request_free(srv_exec_request *req);

#endif /* HV_SERVER_SRV_REQUEST_H */
