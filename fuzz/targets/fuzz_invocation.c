/*
 * fuzz_invocation.c: the parser of a v1.1 invocation document (srv_invocation_parse,
 * src/server/srv_request.h), the plaintext of encrypted_invocation, on arbitrary bytes.
 *
 * Never a crash, a leak or a sanitizer report. A failure is INVALID_REQUEST (or INTERNAL_ERROR
 * when memory ran out) with a terminated message that starts with "invocation: ", and leaves the
 * invocation's fields zero. A success holds what srv_request.h promises: a function name of 1 to
 * 1024 bytes of strict UTF-8 without NUL, well-formed arguments, declared results of known types
 * where a string or bytes result stands alone, stdin bytes, and argv strings of UTF-8 without NUL.
 */
#include <string.h>

#include "fuzz_request_checks.h"
#include "fuzz_util.h"
#include "srv_int.h"
#include "srv_request.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void check_failure(outcome_code code, const char *msg, const srv_exec_request *req) {
  FUZZ_CHECK(code == OUTCOME_INVALID_REQUEST || code == OUTCOME_INTERNAL_ERROR,
             "refused with %s: %s", outcome_code_name(code), msg);
  FUZZ_CHECK(memchr(msg, '\0', SRV_REQUEST_MESSAGE_MAX) != NULL, "message not terminated");
  FUZZ_CHECK(strncmp(msg, "invocation: ", 12) == 0 || strcmp(msg, "out of memory") == 0,
             "message does not name the invocation: '%s'", msg);
  FUZZ_CHECK(!req->invocation_root && !req->function_name && !req->args && !req->arg_count &&
                 !req->results && !req->result_count && !req->stdin_bytes && !req->stdin_len &&
                 !req->argv && !req->argc,
             "a refusal left state behind: %s", msg);
}

static void check_success(const srv_exec_request *req) {
  FUZZ_CHECK(json_is_object(req->invocation_root), "no document object");
  const char *fn = req->function_name;
  FUZZ_CHECK(fn != NULL, "no function name");
  size_t fn_len = strlen(fn);
  FUZZ_CHECK(fn_len >= 1 && fn_len <= SRV_FUNCTION_NAME_MAX, "function name of %zu bytes", fn_len);
  FUZZ_CHECK(valid_utf8((const unsigned char *)fn, fn_len), "function name is not UTF-8");
  json_t *j = json_object_get(req->invocation_root, "function_name");
  FUZZ_CHECK(json_string_length(j) == fn_len && memcmp(fn, json_string_value(j), fn_len) == 0,
             "function name differs from the document's");

  fuzz_check_arguments(req->args, req->arg_count);

  FUZZ_CHECK(req->result_count <= SRV_MAX_ARGUMENTS, "%zu results", req->result_count);
  FUZZ_CHECK((req->results != NULL) == (json_object_get(req->invocation_root, "results") != NULL &&
                                        !json_is_null(json_object_get(req->invocation_root, "results"))),
             "results present in the document and parsed disagree");
  for (size_t k = 0; k < req->result_count; k++) {
    FUZZ_CHECK(hv_type_is_valid(req->results[k]), "result %zu of type %d", k, (int)req->results[k]);
    FUZZ_CHECK(hv_type_is_numeric(req->results[k]) || req->result_count == 1,
               "a %s result among %zu", hv_type_name(req->results[k]), req->result_count);
  }

  FUZZ_CHECK(req->stdin_len == 0 || req->stdin_bytes != NULL, "stdin without bytes");
  FUZZ_CHECK(req->argc <= SRV_MAX_ARGV, "%zu argv strings", req->argc);
  for (size_t k = 0; k < req->argc; k++)
    FUZZ_CHECK(req->argv[k] && valid_utf8((const unsigned char *)req->argv[k], strlen(req->argv[k])),
               "argv[%zu] missing or not UTF-8", k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  srv_exec_request req;
  memset(&req, 0, sizeof req);
  char msg[SRV_REQUEST_MESSAGE_MAX];
  outcome_code code = srv_invocation_parse(data, size, &req, msg);
  if (code == OUTCOME_OK)
    check_success(&req);
  else
    check_failure(code, msg, &req);
  srv_exec_request_free(&req);
  FUZZ_CHECK(req.invocation_root == NULL && req.args == NULL, "free left pointers behind");
  return 0;
}
