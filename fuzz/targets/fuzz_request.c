/*
 * fuzz_request.c: the service's POST /v1/execute body parser (srv_exec_request_parse,
 * src/server/srv_request.h) on arbitrary bytes as the body.
 *
 * The bounds (max timeout, default gas) come from the input's hash, so caps are exercised without
 * stealing input bytes. Never a crash, a leak or a sanitizer report. A failure is one of the three
 * documented codes with a terminated message that names the field, and leaves nothing but the
 * metadata an earlier field produced. A success holds what srv_request.h promises: a non-empty
 * function name of valid UTF-8 within the bound, a key_id of HV_KEY_ID_LEN lowercase hex digits or none,
 * well-formed arguments, metadata that is a compact JSON object within the bound, timeout and gas
 * within 1 .. their bounds.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_request_checks.h"
#include "fuzz_util.h"
#include "hv_json.h"
#include "srv_int.h"
#include "srv_request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static bool starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Every message starts by naming the field, or the body as a whole. */
static bool names_a_field(const char *msg) {
  static const char *const PREFIXES[] = {
      "the request body ", "malformed JSON: ",  "unknown field '",  "encrypted_wasm: ",
      "encrypted_invocation: ",
      "function_name: ",   "public_key: ",      "key_id: ",         "arguments: ",
      "arguments[",        "request_metadata: ", "timeout_seconds: ", "gas_limit: ",
      "out of memory"};
  for (size_t k = 0; k < sizeof PREFIXES / sizeof PREFIXES[0]; k++)
    if (starts_with(msg, PREFIXES[k])) return true;
  return false;
}

static void check_failure(outcome_code code, const char *msg, const srv_exec_request *req) {
  FUZZ_CHECK(code == OUTCOME_INVALID_REQUEST || code == OUTCOME_ENCRYPTION_ERROR ||
                 code == OUTCOME_INTERNAL_ERROR,
             "refused with %s: %s", outcome_code_name(code), msg);
  FUZZ_CHECK(memchr(msg, '\0', SRV_REQUEST_MESSAGE_MAX) != NULL, "message not terminated");
  FUZZ_CHECK(msg[0] != '\0' && names_a_field(msg), "message names no field: '%s'", msg);
  FUZZ_CHECK(code != OUTCOME_ENCRYPTION_ERROR || starts_with(msg, "public_key: "),
             "ENCRYPTION_ERROR not about public_key: %s", msg);
  FUZZ_CHECK(!req->root && !req->ciphertext && !req->ciphertext_len && !req->invocation_ct &&
                 !req->invocation_ct_len && !req->key_id &&
                 !req->function_name && !req->args && !req->arg_count && !req->client_pk &&
                 !req->timeout_s && !req->gas_limit,
             "a refusal left state behind: %s", msg);
  FUZZ_CHECK(!req->metadata || starts_with(msg, "timeout_seconds: ") ||
                 starts_with(msg, "gas_limit: "),
             "metadata kept after an error before it: %s", msg);
}

static void check_success(const srv_exec_request *req, const srv_request_bounds *b) {
  FUZZ_CHECK(json_is_object(req->root), "no root object");
  FUZZ_CHECK(req->ciphertext != NULL, "no ciphertext");
  FUZZ_CHECK(req->client_pk != NULL, "no client key");

  /* A v1.1 request carries its call sealed: no function name or arguments in clear. */
  const char *fn = req->function_name;
  if (req->invocation_ct) {
    FUZZ_CHECK(req->invocation_ct_len > 0, "empty encrypted_invocation accepted");
    FUZZ_CHECK(!fn && !req->args && !req->arg_count, "v1.1 request with a call in clear");
    FUZZ_CHECK(!json_object_get(req->root, "function_name") ||
                   json_is_null(json_object_get(req->root, "function_name")),
               "function_name beside encrypted_invocation");
  } else {
    FUZZ_CHECK(fn != NULL, "no function name");
    size_t fn_len = strlen(fn);
    FUZZ_CHECK(fn_len >= 1 && fn_len <= SRV_FUNCTION_NAME_MAX, "function name of %zu bytes",
               fn_len);
    FUZZ_CHECK(valid_utf8((const unsigned char *)fn, fn_len), "function name is not UTF-8");
    FUZZ_CHECK(strcmp(fn, json_string_value(json_object_get(req->root, "function_name"))) == 0,
               "function name differs from the body's");
  }

  if (req->key_id) {
    FUZZ_CHECK(strlen(req->key_id) == HV_KEY_ID_LEN, "key_id of %zu chars", strlen(req->key_id));
    for (size_t k = 0; k < HV_KEY_ID_LEN; k++)
      FUZZ_CHECK((req->key_id[k] >= '0' && req->key_id[k] <= '9') ||
                     (req->key_id[k] >= 'a' && req->key_id[k] <= 'f'),
                 "key_id char %zu is 0x%02x", k, (unsigned char)req->key_id[k]);
  }

  fuzz_check_arguments(req->args, req->arg_count);

  if (req->metadata) {
    FUZZ_CHECK(strlen(req->metadata) <= SRV_METADATA_MAX, "metadata of %zu bytes",
               strlen(req->metadata));
    json_t *m = json_loads(req->metadata, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(json_is_object(m), "metadata is not a JSON object: %s", req->metadata);
    json_decref(m);
  }

  FUZZ_CHECK(req->timeout_s >= 1 && req->timeout_s <= b->max_timeout_s,
             "timeout %llu outside 1..%llu", (unsigned long long)req->timeout_s,
             (unsigned long long)b->max_timeout_s);
  FUZZ_CHECK(req->gas_limit >= 1 && req->gas_limit <= b->default_gas_limit,
             "gas %llu outside 1..%llu", (unsigned long long)req->gas_limit,
             (unsigned long long)b->default_gas_limit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The configuration's ranges (src/config/config.c): timeout 1..300 s, gas 1..10^15. */
  uint64_t h = fuzz_hash(data, size);
  const srv_request_bounds bounds = {
      .max_timeout_s = 1 + h % SRV_TIMEOUT_MAX_S,
      .default_gas_limit =
          (h >> 16) % 2 ? UINT64_C(10000000000) : 1 + (h >> 17) % UINT64_C(1000000000000000),
  };
  srv_exec_request req;
  char msg[SRV_REQUEST_MESSAGE_MAX];
  /* as srv_on_body leaves it: HV_JSON_PADDING bytes after the body */
  uint8_t *body = malloc(size + HV_JSON_PADDING);
  if (body == NULL) return 0;
  if (size > 0) memcpy(body, data, size);
  memset(body + size, 0xa5, HV_JSON_PADDING);
  outcome_code code = srv_exec_request_parse(body, size, &bounds, &req, msg);
  free(body);
  if (code == OUTCOME_OK)
    check_success(&req, &bounds);
  else
    check_failure(code, msg, &req);
  srv_exec_request_free(&req);
  FUZZ_CHECK(req.root == NULL && req.metadata == NULL, "free left pointers behind");
  return 0;
}
