/*
 * contract.c: the OpenAPI contract test's driver (tests/openapi/run-contract.sh). Starts real
 * servers, makes real requests over HTTP (libcurl) covering every path, alias and method of
 * docs/openapi.yaml and every error code a client can provoke, checks that each request got the
 * status it aims at, and writes every exchange (request, status, response headers, body) as one
 * JSON line to $HV_CONTRACT_LOG. tools/openapi/validate.mjs then validates each reply against the
 * document. The plaintext documents of the sealed results are written too, to be validated
 * against the document's ResultDocument and CommandResultDocument.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define ORIGIN "https://app.example"

static FILE *exchange_log;
static unsigned exchanges;

/* ---- Recording ---------------------------------------------------------------------------- */

static json_t *text_or_null(const char *text, size_t len) {
  if (!text) return json_null();
  json_t *s = json_stringn(text, len);
  return s ? s : json_null(); /* not UTF-8: the validator sees null and fails on it */
}

static void write_line(json_t *line) {
  char *text = json_dumps(line, JSON_COMPACT);
  assert_non_null(text);
  assert_true(fputs(text, exchange_log) >= 0 && fputc('\n', exchange_log) != EOF);
  free(text);
  json_decref(line);
}

/* Asserts the status (and error_code, when not NULL) of a reply to `req`, and records both. */
static void record_exchange(const char *name, const ht_req *req, const ht_resp *rp, long status,
                            const char *code) {
  const ht_resp r = *rp;
  if (r.status != status)
    fail_msg("%s: %s %s: HTTP %ld, want %ld: %.300s", name, req->method ? req->method : "GET",
             req->path, r.status, status, r.body);
  if (code) ht_assert_error(&r, status, code);
  json_t *headers = json_array();
  for (const char *const *h = req->headers; h && *h; h++) json_array_append_new(headers, json_string(*h));
  if (req->api_key) json_array_append_new(headers, json_string("X-API-Key: (a key)"));
  if (req->accept) {
    char line[160];
    snprintf(line, sizeof line, "Accept: %s", req->accept);
    json_array_append_new(headers, json_string(line));
  }
  const char *method = req->method ? req->method : req->body ? "POST" : "GET";
  size_t body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;
  json_t *line = json_object();
  json_object_set_new(line, "kind", json_string("http"));
  json_object_set_new(line, "name", json_string(name));
  json_object_set_new(line, "method", json_string(method));
  json_object_set_new(line, "path", json_string(req->path));
  json_object_set_new(line, "request_headers", headers);
  /* Large bodies (the 413 cases) are left out; their length says enough. */
  json_object_set_new(line, "request_body",
                      body_len <= 65536 ? text_or_null(req->body, body_len) : json_null());
  json_object_set_new(line, "request_body_length", json_integer((json_int_t)body_len));
  json_object_set_new(line, "status", json_integer(r.status));
  json_object_set_new(line, "response_headers", json_string(r.headers));
  json_object_set_new(line, "response_body", text_or_null(r.body, r.len));
  write_line(line);
  exchanges++;
}

/* Performs `req`, then record_exchange. */
static ht_resp exchange(ht_server *s, const char *name, const ht_req *req, long status,
                        const char *code) {
  ht_resp r = ht_http(s, req);
  record_exchange(name, req, &r, status, code);
  return r;
}

static void exchange_free(ht_server *s, const char *name, const ht_req *req, long status,
                          const char *code) {
  ht_resp r = exchange(s, name, req, status, code);
  ht_resp_free(&r);
}

/* A sealed document's plaintext, to be validated against components/schemas/<schema>. */
static void record_document(const char *name, const char *schema, const uint8_t *doc, size_t len) {
  json_t *line = json_object();
  json_object_set_new(line, "kind", json_string("document"));
  json_object_set_new(line, "name", json_string(name));
  json_object_set_new(line, "schema", json_string(schema));
  json_object_set_new(line, "document", text_or_null((const char *)doc, len));
  write_line(line);
}

static const char *str(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* Opens a 200 execute reply's encrypted_result and records the document. */
static void record_result(const char *name, const char *schema, const ht_resp *r,
                          const hv_client_key *key) {
  const char *id = str(r->json, "request_id"), *sealed = str(r->json, "encrypted_result");
  assert_non_null(id);
  assert_non_null(sealed);
  uint8_t *doc = NULL;
  size_t len = 0;
  hv_crypto_err err = {0};
  if (hv_client_open_response_base64(key, id, sealed, strlen(sealed), &doc, &len, &err) !=
      HV_CRYPTO_OK)
    fail_msg("%s: cannot open the result: %s", name, err.message);
  record_document(name, schema, doc, len);
  free(doc);
}

/* ---- Requests ----------------------------------------------------------------------------- */

static char *dump(const json_t *o) {
  char *t = json_dumps(o, JSON_COMPACT);
  assert_non_null(t);
  return t;
}

/* A v1 request for `fn` of `wasm` with `args` (a JSON array text, NULL: none) as text. */
static char *v1_body(ht_server *s, const uint8_t *wasm, size_t len, const char *fn,
                     const char *args, const char *extra_key, json_t *extra_value,
                     hv_client_key **key) {
  json_t *req = ht_exec_request(s, wasm, len, fn, NULL, key);
  if (args) json_object_set_new(req, "arguments", json_loads(args, 0, NULL));
  if (extra_key) json_object_set_new(req, extra_key, extra_value);
  char *t = dump(req);
  json_decref(req);
  return t;
}

/* A v1.1 request: `invocation` sealed after the module in one context. */
static char *v11_body(ht_server *s, const uint8_t *wasm, size_t len, const char *invocation,
                      hv_client_key **key) {
  uint8_t pk[65];
  char key_id[17];
  ht_current_key(s, pk, key_id);
  assert_int_equal(hv_client_key_generate(key, NULL), HV_CRYPTO_OK);
  hv_client_sealed sw, si;
  hv_crypto_err err = {0};
  if (hv_client_seal_request_v11(*key, pk, sizeof pk, wasm, len, (const uint8_t *)invocation,
                                 strlen(invocation), &sw, &si, &err) != HV_CRYPTO_OK)
    fail_msg("seal: %s", err.message);
  char *pub = NULL;
  assert_int_equal(hv_client_key_public_base64(*key, &pub, NULL), HV_CRYPTO_OK);
  json_t *o = json_object();
  json_object_set_new(o, "encrypted_wasm", json_string(sw.base64));
  json_object_set_new(o, "encrypted_invocation", json_string(si.base64));
  json_object_set_new(o, "key_id", json_string(key_id));
  json_object_set_new(o, "public_key", json_string(pub));
  json_object_set_new(o, "request_metadata", json_pack("{s:s}", "client", "contract"));
  free(pub);
  hv_client_sealed_free(&sw);
  hv_client_sealed_free(&si);
  char *t = dump(o);
  json_decref(o);
  return t;
}

static ht_req post(const char *path, const char *body) {
  return (ht_req){.method = "POST", .path = path, .api_key = HT_API_KEY, .body = body};
}

/* ---- The scenarios ------------------------------------------------------------------------ */

static ht_server main_server;

static const char *const every_path[] = {
    "/v1/execute", "/execute",    "/v1/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a",
    "/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a", "/v1/keys", "/keys", "/health",
    "/v1/health",  "/metrics",    "/v1/metrics"};

static void open_endpoints(ht_server *s) {
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  const char *gets[] = {"/health", "/v1/health", "/v1/keys", "/keys"};
  for (size_t k = 0; k < 4; k++) {
    ht_req get = {.path = gets[k]};
    exchange_free(s, "get", &get, 200, NULL);
    ht_req head = {.method = "HEAD", .path = gets[k], .headers = origin};
    exchange_free(s, "head from an allowed origin", &head, 200, NULL);
    ht_req cors = {.path = gets[k], .headers = origin};
    exchange_free(s, "get from an allowed origin", &cors, 200, NULL);
  }
  const char *with_body[] = {"/health", "/v1/keys", "/v1/verify/0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a",
                             "/metrics"};
  for (size_t k = 0; k < 4; k++) {
    ht_req get = {.method = "GET", .path = with_body[k], .api_key = HT_API_KEY, .body = "{}"};
    exchange_free(s, "GET with a body", &get, 413, "PAYLOAD_TOO_LARGE");
  }
  const char *metrics[] = {"/metrics", "/v1/metrics"};
  for (size_t k = 0; k < 2; k++) {
    ht_req text = {.path = metrics[k], .api_key = HT_API_KEY};
    exchange_free(s, "metrics as text", &text, 200, NULL);
    ht_req json = {.path = metrics[k], .api_key = HT_API_KEY, .accept = "application/json"};
    exchange_free(s, "metrics as JSON", &json, 200, NULL);
    ht_req head = {.method = "HEAD", .path = metrics[k], .api_key = HT_API_KEY};
    exchange_free(s, "metrics HEAD", &head, 200, NULL);
    ht_req none = {.path = metrics[k]};
    exchange_free(s, "metrics without a key", &none, 401, "UNAUTHORIZED");
    ht_req wrong = {.path = metrics[k], .api_key = "not-a-key", .headers = origin};
    exchange_free(s, "metrics with a wrong key", &wrong, 401, "UNAUTHORIZED");
    ht_req headless = {.method = "HEAD", .path = metrics[k]};
    exchange_free(s, "metrics HEAD without a key", &headless, 401, NULL);
    ht_req bearer = {.path = metrics[k], .authorization = "Bearer " HT_API_KEY};
    exchange_free(s, "metrics with a bearer API key", &bearer, 200, NULL);
    ht_req bad_bearer = {.path = metrics[k], .authorization = "Bearer not-a-key"};
    exchange_free(s, "metrics with a wrong bearer token", &bad_bearer, 401, "UNAUTHORIZED");
    ht_req basic = {.path = metrics[k], .authorization = "Basic dXNlcjpwYXNz"};
    exchange_free(s, "metrics with Basic credentials", &basic, 401, "UNAUTHORIZED");
  }
}

static void preflights_and_methods(ht_server *s) {
  for (size_t k = 0; k < sizeof every_path / sizeof every_path[0]; k++) {
    const char *p = every_path[k];
    bool post_only = strstr(p, "execute") != NULL;
    const char *allowed[] = {"Origin: " ORIGIN,
                             post_only ? "Access-Control-Request-Method: POST"
                                       : "Access-Control-Request-Method: GET",
                             "Access-Control-Request-Headers: x-api-key, content-type", NULL};
    ht_req pre = {.method = "OPTIONS", .path = p, .headers = allowed};
    exchange_free(s, "preflight from an allowed origin", &pre, 204, NULL);
    const char *refused[] = {"Origin: https://elsewhere.example", allowed[1], NULL};
    ht_req bad = {.method = "OPTIONS", .path = p, .headers = refused};
    exchange_free(s, "preflight from another origin", &bad, 405, "INVALID_REQUEST");
    ht_req options = {.method = "OPTIONS", .path = p};
    exchange_free(s, "OPTIONS without CORS", &options, 405, "INVALID_REQUEST");
    ht_req del = {.method = "DELETE", .path = p};
    exchange_free(s, "DELETE", &del, 405, "INVALID_REQUEST");
    ht_req wrong = post_only ? (ht_req){.path = p, .api_key = HT_API_KEY}
                             : (ht_req){.method = "POST", .path = p, .body = "{}"};
    exchange_free(s, "the other of GET and POST", &wrong, 405, "INVALID_REQUEST");
  }
  ht_req nowhere = {.path = "/v2/execute"};
  exchange_free(s, "unknown route", &nowhere, 404, "NOT_FOUND");
  ht_req slash = {.path = "/health/"};
  exchange_free(s, "trailing slash", &slash, 404, "NOT_FOUND");
  ht_req post_nowhere = {.method = "POST", .path = "/v1/run", .body = "{}"};
  exchange_free(s, "POST to an unknown route", &post_nowhere, 404, "NOT_FOUND");
  const char *origin[] = {"Origin: " ORIGIN, NULL};
  ht_req cors_nowhere = {.path = "/nothing", .headers = origin};
  exchange_free(s, "unknown route from an allowed origin", &cors_nowhere, 404, "NOT_FOUND");
}

/* Executions that succeed, in each form; returns one request_id for verify. */
static void executions(ht_server *s, char id_out[64], char commitment_out[65]) {
  size_t add_len = 0, str_len = 0, wasi_len = 0;
  uint8_t *add = ht_wasm("add", &add_len);
  uint8_t *strings = ht_wasm("strings", &str_len);
  uint8_t *wasi = ht_wasm("wasi_exit", &wasi_len);
  hv_client_key *key = NULL;

  char *body = v1_body(s, add, add_len, "add", "[{\"value\": 2}, {\"value\": \"3\", \"type\": \"i32\"}]",
                       "timeout_seconds", json_integer(5), &key);
  ht_req req = post("/v1/execute", body);
  ht_resp r = exchange(s, "v1 add", &req, 200, NULL);
  record_result("v1 add", "ResultDocument", &r, key);
  snprintf(id_out, 64, "%s", str(r.json, "request_id"));
  snprintf(commitment_out, 65, "%s", str(r.json, "result_commitment"));
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  const char *origin[] = {"Origin: " ORIGIN, NULL};
  body = v1_body(s, add, add_len, "divf", "[{\"value\": 1}, {\"value\": \"inf\"}]", "gas_limit",
                 json_integer(1000000), &key);
  req = post("/execute", body);
  req.headers = origin;
  r = exchange(s, "v1 divf at the alias, from an allowed origin", &req, 200, NULL);
  record_result("v1 divf", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v1_body(s, add, add_len, "pair", "[{\"value\": 7}]", "request_metadata",
                 json_pack("{s:i}", "n", 1), &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1 two results", &req, 200, NULL);
  record_result("v1 pair", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"echo\",\"arguments\":[{\"type\":\"string\",\"value\":\"h\\u00e9\"}],"
                  "\"results\":[\"string\"]}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 string echo", &req, 200, NULL);
  record_result("v1.1 echo", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"echo\",\"arguments\":[{\"type\":\"bytes\",\"value\":\"AAEC\"}],"
                  "\"results\":[\"bytes\"]}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 bytes echo", &req, 200, NULL);
  record_result("v1.1 bytes", "ResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  body = v11_body(s, wasi, wasi_len,
                  "{\"function_name\":\"_start\",\"argv\":[\"exit.wasm\",\"-v\"],\"stdin\":\"aGk=\"}",
                  &key);
  req = post("/v1/execute", body);
  r = exchange(s, "v1.1 WASI command", &req, 200, NULL);
  record_result("v1.1 WASI command", "CommandResultDocument", &r, key);
  ht_resp_free(&r);
  hv_client_key_free(key);
  free(body);

  free(add);
  free(strings);
  free(wasi);
}

/* Every error of POST /v1/execute that a client can provoke on one server. */
static void execute_errors(ht_server *s, char failed_id_out[64]) {
  size_t add_len = 0, str_len = 0, big_len = 0;
  uint8_t *add = ht_wasm("add", &add_len);
  uint8_t *strings = ht_wasm("strings", &str_len);
  uint8_t *bigmem = ht_wasm("bigmem", &big_len);
  hv_client_key *key = NULL;

  ht_req req = {.method = "POST", .path = "/v1/execute", .body = "{}"};
  exchange_free(s, "no API key", &req, 401, "UNAUTHORIZED");
  req.path = "/execute";
  exchange_free(s, "no API key at the alias", &req, 401, "UNAUTHORIZED");
  req.path = "/v1/execute";
  req.api_key = "wrong-key";
  exchange_free(s, "wrong API key", &req, 401, "UNAUTHORIZED");

  struct {
    const char *name, *body;
  } malformed[] = {
      {"not JSON", "{\"encrypted_wasm\": "},
      {"not an object", "[1, 2]"},
      {"empty object", "{}"},
      {"invalid UTF-8", "{\"function_name\": \"\xff\"}"},
      {"duplicate member", "{\"function_name\": \"a\", \"function_name\": \"b\"}"},
  };
  for (size_t k = 0; k < sizeof malformed / sizeof malformed[0]; k++) {
    ht_req m = post("/v1/execute", malformed[k].body);
    exchange_free(s, malformed[k].name, &m, 400, "INVALID_REQUEST");
  }

  struct {
    const char *name, *member;
    json_t *value;
  } fields[] = {
      {"unknown member", "timout_seconds", json_integer(3)},
      {"timeout out of range", "timeout_seconds", json_integer(301)},
      {"gas_limit zero", "gas_limit", json_integer(0)},
      {"bad base64", "encrypted_wasm", json_string("!!!not base64!!!")},
      {"key_id not hex", "key_id", json_string("XYZ")},
      {"metadata not an object", "request_metadata", json_string("x")},
      {"both forms", "encrypted_invocation", json_string("AAAA")},
  };
  for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
    char *body = v1_body(s, add, add_len, "add", NULL, fields[k].member, fields[k].value, &key);
    ht_req m = post("/v1/execute", body);
    exchange_free(s, fields[k].name, &m, 400, "INVALID_REQUEST");
    hv_client_key_free(key);
    free(body);
  }

  struct {
    const char *name, *member;
    json_t *value;
  } crypto[] = {
      {"public key not a point", "public_key", json_string("AAAA")},
      {"unknown key_id", "key_id", json_string("0000000000000000")},
      {"ciphertext too short", "encrypted_wasm", json_string("AAAA")},
  };
  for (size_t k = 0; k < sizeof crypto / sizeof crypto[0]; k++) {
    char *body = v1_body(s, add, add_len, "add", NULL, crypto[k].member, crypto[k].value, &key);
    ht_req m = post("/v1/execute", body);
    exchange_free(s, crypto[k].name, &m, 400, "ENCRYPTION_ERROR");
    hv_client_key_free(key);
    free(body);
  }
  /* Sealed for another function name than the one sent: the AAD does not match. */
  json_t *swapped = ht_exec_request(s, add, add_len, "add", "answer", &key);
  char *body = dump(swapped);
  ht_req m = post("/v1/execute", body);
  exchange_free(s, "function_name not the sealed one", &m, 400, "ENCRYPTION_ERROR");
  json_decref(swapped);
  hv_client_key_free(key);
  free(body);

  struct {
    const char *name, *fn, *args;
    const uint8_t *wasm;
    size_t len;
    long status;
    const char *code;
  } runs[] = {
      {"argument count", "add", "[{\"value\": 1}]", add, add_len, 400, "INVALID_ARGUMENTS"},
      {"argument type", "add", "[{\"value\": 1, \"type\": \"f64\"}, {\"value\": 2}]", add, add_len,
       400, "INVALID_ARGUMENTS"},
      {"no such export", "nosuch", NULL, add, add_len, 422, "FUNCTION_NOT_FOUND"},
      {"not WebAssembly", "main", NULL, (const uint8_t *)"\0asm\x02\0\0\0junk", 12, 422,
       "INVALID_WASM"},
      {"an import", "main", NULL, NULL, 0, 422, "INVALID_WASM"},
      {"trap", "boom", NULL, add, add_len, 422, "EXECUTION_TRAP"},
      {"division by zero", "div", "[{\"value\": 1}, {\"value\": 0}]", add, add_len, 422,
       "EXECUTION_TRAP"},
      {"gas", "count", "[{\"value\": 100000000}]", add, add_len, 422, "GAS_EXHAUSTED"},
      {"memory", "main", NULL, bigmem, big_len, 422, "MEMORY_EXCEEDED"},
  };
  size_t imp_len = 0;
  uint8_t *imp = ht_wasm("import", &imp_len);
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    const uint8_t *w = runs[k].wasm ? runs[k].wasm : imp;
    size_t wl = runs[k].wasm ? runs[k].len : imp_len;
    body = v1_body(s, w, wl, runs[k].fn, runs[k].args, "gas_limit", json_integer(100000), &key);
    m = post("/v1/execute", body);
    ht_resp r = exchange(s, runs[k].name, &m, runs[k].status, runs[k].code);
    if (k == 5) snprintf(failed_id_out, 64, "%s", str(r.json, "request_id"));
    ht_resp_free(&r);
    hv_client_key_free(key);
    free(body);
  }
  free(imp);

  /* v1.1: the detail sealed, the clear message naming only the code. */
  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"confidential_model_v7\",\"arguments\":[{\"type\":\"string\","
                  "\"value\":\"x\"}]}",
                  &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 trap", &m, 422, "EXECUTION_TRAP");
  hv_client_key_free(key);
  free(body);
  body = v11_body(s, strings, str_len, "{\"function_name\":\"echo\",\"bogus\":1}", &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 malformed invocation", &m, 400, "INVALID_REQUEST");
  hv_client_key_free(key);
  free(body);
  body = v11_body(s, strings, str_len,
                  "{\"function_name\":\"add\",\"arguments\":[{\"value\":1}],\"results\":[\"i32\"]}",
                  &key);
  m = post("/v1/execute", body);
  exchange_free(s, "v1.1 argument count", &m, 400, "INVALID_ARGUMENTS");
  hv_client_key_free(key);
  free(body);

  /* Bodies over server.max_body_bytes (64 KiB here). */
  size_t n = 70 * 1024;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, ' ', n);
  big[0] = '{';
  big[n - 1] = '}';
  big[n] = '\0';
  ht_req large = {.method = "POST", .path = "/v1/execute", .api_key = HT_API_KEY, .body = big,
                  .body_len = n};
  exchange_free(s, "body over the cap", &large, 413, "PAYLOAD_TOO_LARGE");
  large.chunked = true;
  exchange_free(s, "chunked body over the cap", &large, 413, "PAYLOAD_TOO_LARGE");
  free(big);

  free(add);
  free(strings);
  free(bigmem);
}

static void verify(ht_server *s, const char *id, const char *commitment, const char *failed_id) {
  char path[256];
  const char *prefixes[] = {"/v1/verify/", "/verify/"};
  for (size_t k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "%s%s", prefixes[k], id);
    ht_req rec = {.path = path};
    exchange_free(s, "verify: the record", &rec, 200, NULL);
    ht_req head = {.method = "HEAD", .path = path};
    exchange_free(s, "verify: HEAD", &head, 200, NULL);
  }
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=result&hash_value=%s", id, commitment);
  ht_req check = {.path = path};
  ht_resp r = exchange(s, "verify: a matching commitment", &check, 200, NULL);
  assert_true(json_is_true(json_object_get(r.json, "verified")));
  ht_resp_free(&r);
  snprintf(path, sizeof path, "/v1/verify/%s?commitment_type=program&hash_value=%064d", id, 0);
  exchange_free(s, "verify: another commitment", &check, 200, NULL);
  snprintf(path, sizeof path, "/v1/verify/%s", failed_id);
  exchange_free(s, "verify: a failed execution", &check, 200, NULL);

  const char *bad_query[] = {"commitment_type=result", "hash_value=00",
                             "commitment_type=other&hash_value=00", "x=1",
                             "commitment_type=result&commitment_type=result"};
  for (size_t k = 0; k < sizeof bad_query / sizeof bad_query[0]; k++) {
    snprintf(path, sizeof path, "/v1/verify/%s?%s", id, bad_query[k]);
    exchange_free(s, "verify: malformed query", &check, 400, "INVALID_REQUEST");
  }
  snprintf(path, sizeof path, "/verify/not-a-uuid");
  exchange_free(s, "verify: malformed id", &check, 400, "INVALID_REQUEST");
  ht_req head = {.method = "HEAD", .path = path};
  exchange_free(s, "verify: HEAD of a malformed id", &head, 400, NULL);
  snprintf(path, sizeof path, "/v1/verify/%s", "0b0e6bbf-4f71-4b4e-9d0f-3a3c1f6f7d2a");
  exchange_free(s, "verify: no such record", &check, 404, "NOT_FOUND");
  exchange_free(s, "verify: HEAD of no such record", &head, 404, NULL);
}

/* CAPACITY_EXCEEDED and EXECUTION_TIMEOUT on a server with one slot and a 1 s limit. */
typedef struct spin_call {
  ht_server *s;
  ht_req req;
  ht_resp resp; /* recorded by the main thread, where a failed assertion may end the test */
} spin_call;

static void *spin_thread(void *arg) {
  spin_call *c = arg;
  c->resp = ht_http(c->s, &c->req);
  return NULL;
}

static bool one_busy(void *arg) {
  ht_resp r = ht_get(arg, "/health", NULL);
  json_t *cap = json_object_get(r.json, "capacity");
  json_int_t n = json_integer_value(json_object_get(cap, "active_executions")) +
                 json_integer_value(json_object_get(cap, "queued_executions"));
  ht_resp_free(&r);
  return n == 1;
}

static void capacity(void) {
  ht_server s;
  ht_options o = {.max_concurrent = 1, .max_exec_seconds = 1};
  ht_start(&s, &o);
  size_t len = 0;
  uint8_t *add = ht_wasm("add", &len);
  hv_client_key *k1 = NULL, *k2 = NULL;
  char *spin = v1_body(&s, add, len, "spin", NULL, NULL, NULL, &k1);
  spin_call call = {.s = &s, .req = post("/v1/execute", spin)};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, spin_thread, &call), 0);
  assert_true(ht_wait_for(one_busy, &s, 30));
  char *body = v1_body(&s, add, len, "answer", NULL, NULL, NULL, &k2);
  ht_req req = post("/v1/execute", body);
  exchange_free(&s, "every slot taken", &req, 503, "CAPACITY_EXCEEDED");
  pthread_join(t, NULL);
  record_exchange("wall-clock limit", &call.req, &call.resp, 422, "EXECUTION_TIMEOUT");
  ht_resp_free(&call.resp);
  free(spin);
  free(body);
  free(add);
  hv_client_key_free(k1);
  hv_client_key_free(k2);
  ht_stop(&s);
  ht_cleanup(&s);
}

static void rate_limit(void) {
  ht_server s;
  ht_options o = {.rps = 1, .burst = 1};
  ht_start(&s, &o);
  ht_req req = {.path = "/metrics", .api_key = HT_API_KEY};
  exchange_free(&s, "within the rate", &req, 200, NULL);
  exchange_free(&s, "over the rate", &req, 429, "RATE_LIMITED");
  ht_req ex = post("/v1/execute", "{}");
  exchange_free(&s, "execute over the rate", &ex, 429, "RATE_LIMITED");
  ht_req head = {.method = "HEAD", .path = "/v1/metrics", .api_key = HT_API_KEY};
  exchange_free(&s, "HEAD over the rate", &head, 429, NULL);
  ht_stop(&s);
  ht_cleanup(&s);
}

static void test_contract_exchanges(void **state) {
  (void)state;
  const char *log = getenv("HV_CONTRACT_LOG");
  if (!log) fail_msg("HV_CONTRACT_LOG names the file the exchanges go to");
  exchange_log = fopen(log, "w");
  assert_non_null(exchange_log);

  ht_options o = {.max_body = 64 * 1024, .cors_origins = "[\"" ORIGIN "\"]", .wasi_stdio = true};
  ht_start(&main_server, &o);
  open_endpoints(&main_server);
  preflights_and_methods(&main_server);
  char id[64], commitment[65], failed_id[64];
  executions(&main_server, id, commitment);
  execute_errors(&main_server, failed_id);
  verify(&main_server, id, commitment, failed_id);
  ht_stop(&main_server);
  ht_cleanup(&main_server);
  capacity();
  rate_limit();

  assert_int_equal(fclose(exchange_log), 0);
  exchange_log = NULL;
  printf("contract: %u exchanges recorded in %s\n", exchanges, log);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_contract_exchanges)};
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  return rc + ht_failures();
}
