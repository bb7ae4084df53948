/*
 * hvctl.c: the client command of the service (docs/service.md, "hvctl").
 *
 *   hvctl [--server URL] [--api-key KEY] keys | health | metrics [--json]
 *   hvctl [--server URL] [--api-key KEY] exec [--invoke NAME] [--timeout SECONDS] [--gas N] FILE.wasm [ARG...]
 *   hvctl [--server URL] verify REQUEST_ID [--type result|program|arguments --hash HEX]
 *   hvctl --version | hvctl [COMMAND] --help
 *
 * `exec` does the whole encrypted round trip: it reads the module, finds the export's signature
 * (with the engine, locally) to type the arguments, fetches the server's current key, seals the
 * module to it with a fresh key pair, sends the request, opens the sealed result and checks all
 * three commitments before printing anything. Results print one per line as `hypervisor run`
 * prints them, then the request_id, the server key and the commitments.
 *
 * Exit status: 0 success; 1 a server error (its error_code and message on stderr), a failed
 * check, or no answer; 2 a usage error.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_file.h"
#include "hv_client.h"
#include "hvctl_http.h"
#include "valtext.h"
#include "wasm_engine.h"

enum { HVCTL_OK = 0, HVCTL_FAIL = 1, HVCTL_USAGE = 2 };

#define HVCTL_DEFAULT_SERVER "http://127.0.0.1:3000"
#define HVCTL_MAX_TIMEOUT_S 300.0 /* the protocol's timeout_seconds: 1 to 300 */

/* The commands and their usage lines (the part after "hvctl [--server URL] [--api-key KEY] "). */
static const struct {
  const char *name;
  const char *usage;
} hvctl_commands[] = {
    {"keys", "keys"},
    {"health", "health"},
    {"metrics", "metrics [--json]"},
    {"exec", "exec [--invoke NAME] [--timeout SECONDS] [--gas N] FILE.wasm [ARG...]"},
    {"verify", "verify REQUEST_ID [--type result|program|arguments --hash HEX]"},
};
#define HVCTL_COMMAND_COUNT (sizeof hvctl_commands / sizeof hvctl_commands[0])
#define HVCTL_USAGE_FOOTER                                                                      \
  "The API key may also come from HYPERVISOR_API_KEY; --server defaults to " HVCTL_DEFAULT_SERVER \
  ".\n"

/* The whole usage (command < 0) or one command's, on `out`. */
static void hvctl_print_usage(FILE *out, int command) {
  fputs("usage: hvctl [--server URL] [--api-key KEY] ", out);
  if (command >= 0) {
    fprintf(out, "%s\n", hvctl_commands[command].usage);
  } else {
    fputs("COMMAND ...\n", out);
    for (size_t k = 0; k < HVCTL_COMMAND_COUNT; k++) fprintf(out, "  hvctl %s\n", hvctl_commands[k].usage);
    fputs("  hvctl --version\n  hvctl [COMMAND] --help\n", out);
  }
  fputs(HVCTL_USAGE_FOOTER, out);
}

/* --help: the usage on stdout, exit 0 (1 if stdout cannot be written). */
static int hvctl_help(int command) {
  hvctl_print_usage(stdout, command);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "hvctl: cannot write to stdout\n");
    return HVCTL_FAIL;
  }
  return HVCTL_OK;
}

static int hvctl_command_index(const char *name) {
  for (size_t k = 0; k < HVCTL_COMMAND_COUNT; k++)
    if (strcmp(name, hvctl_commands[k].name) == 0) return (int)k;
  return -1;
}

typedef struct hvctl {
  const char *server;
  const char *api_key;
} hvctl;

__attribute__((format(printf, 1, 2))) static int hvctl_usage(const char *fmt, ...) {
  va_list ap;
  fputs("hvctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  hvctl_print_usage(stderr, -1);
  return HVCTL_USAGE;
}

__attribute__((format(printf, 1, 2))) static int hvctl_fail(const char *fmt, ...) {
  va_list ap;
  fputs("hvctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return HVCTL_FAIL;
}

/* "URL" + path, without a doubled slash. */
static char *hvctl_url(const hvctl *h, const char *path) {
  size_t n = strlen(h->server);
  while (n > 0 && h->server[n - 1] == '/') n--;
  size_t len = n + strlen(path) + 1;
  char *url = malloc(len);
  if (url) snprintf(url, len, "%.*s%s", (int)n, h->server, path);
  return url;
}

/* The server's error body as "CODE: message" on stderr; HVCTL_FAIL. */
static int hvctl_server_error(const hvctl_response *resp) {
  json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
  const char *code = o ? json_string_value(json_object_get(o, "error_code")) : NULL;
  const char *msg = o ? json_string_value(json_object_get(o, "message")) : NULL;
  const char *rid = o ? json_string_value(json_object_get(o, "request_id")) : NULL;
  if (code) {
    fprintf(stderr, "%s: %s\n", code, msg ? msg : "");
    if (rid) fprintf(stderr, "request_id: %s\n", rid);
  } else {
    fprintf(stderr, "hvctl: the server answered HTTP %ld: %.200s\n", resp->status,
            resp->len ? resp->body : "(no body)");
  }
  json_decref(o);
  return HVCTL_FAIL;
}

/* A request whose body is printed (pretty when JSON) on success. */
static int hvctl_get_and_print(const hvctl *h, const char *path, const char *api_key,
                               const char *accept, bool raw) {
  char *url = hvctl_url(h, path);
  if (!url) return hvctl_fail("out of memory");
  hvctl_request req = {.method = "GET", .url = url, .api_key = api_key, .accept = accept,
                       .timeout_s = 30};
  hvctl_response resp;
  bool ok = hvctl_http(&req, &resp);
  free(url);
  if (!ok) return hvctl_fail("%s: %s", h->server, resp.error);
  int rc = HVCTL_OK;
  json_t *o = raw ? NULL : json_loadb(resp.body, resp.len, 0, NULL);
  if (resp.status != 200 && (!o || json_object_get(o, "error_code"))) {
    rc = hvctl_server_error(&resp);
  } else {
    if (o) {
      char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
      if (text) printf("%s\n", text);
      free(text);
    } else {
      fwrite(resp.body, 1, resp.len, stdout);
    }
    if (resp.status != 200) rc = HVCTL_FAIL; /* /health answers 503 with a JSON status */
  }
  json_decref(o);
  hvctl_response_free(&resp);
  return rc;
}

/* ---- exec --------------------------------------------------------------------------------- */

typedef struct hvctl_exec_opts {
  const char *invoke;
  const char *file;
  char **args;
  int arg_count;
  long timeout_s; /* 0: the server's */
  const char *gas;
} hvctl_exec_opts;

/* The JSON form of a typed argument (protocol.md, "Result document" value forms). */
static json_t *hvctl_arg_json(const wasm_value *v) {
  json_t *o = json_object();
  json_t *value = NULL;
  const char *type = wasm_valtype_name(v->type);
  switch (v->type) {
    case WASM_TYPE_I32: value = json_integer(v->of.i32); break;
    case WASM_TYPE_I64:
      if (v->of.i64 > -(INT64_C(1) << 53) && v->of.i64 < (INT64_C(1) << 53)) {
        value = json_integer(v->of.i64);
      } else {
        char text[32];
        snprintf(text, sizeof text, "%" PRId64, v->of.i64);
        value = json_string(text);
      }
      break;
    case WASM_TYPE_F32:
    case WASM_TYPE_F64: {
      double d;
      if (v->type == WASM_TYPE_F32) {
        float f;
        memcpy(&f, &v->of.f32_bits, sizeof f);
        d = f;
      } else {
        memcpy(&d, &v->of.f64_bits, sizeof d);
      }
      value = isnan(d) ? json_string("nan") : isinf(d) ? json_string(d > 0 ? "inf" : "-inf")
                                                        : json_real(d);
      break;
    }
    default: break;
  }
  if (!o || !value) {
    json_decref(o);
    json_decref(value);
    return NULL;
  }
  json_object_set_new(o, "value", value);
  json_object_set_new(o, "type", json_string(type));
  return o;
}

/* Prints a result on one line: a number as `hypervisor run` does; a string as a JSON string (ASCII,
 * so nothing the program wrote reaches the terminal raw); bytes as base64. */
static void hvctl_print_value(const hv_value *v) {
  char text[VALTEXT_FORMAT_MAX];
  char *out = NULL;
  if (hv_type_is_numeric(v->type)) {
    valtext_format(&v->num, text, sizeof text);
    printf("%s\n", text);
    return;
  }
  if (v->type == HV_TYPE_STRING) {
    json_t *j = json_stringn((const char *)v->data, v->len);
    out = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
  } else {
    hv_crypto_base64_encode(v->data, v->len, &out, NULL, NULL);
  }
  printf("%s:%s\n", hv_type_name(v->type), out ? out : "?");
  free(out);
}

/* The server's current key: SEC1 bytes (caller frees) and key_id. */
static int hvctl_current_key(const hvctl *h, uint8_t **pk, size_t *pk_len, char key_id[17]) {
  char *url = hvctl_url(h, "/v1/keys");
  if (!url) return hvctl_fail("out of memory");
  hvctl_request req = {.method = "GET", .url = url, .timeout_s = 30};
  hvctl_response resp;
  bool ok = hvctl_http(&req, &resp);
  free(url);
  if (!ok) return hvctl_fail("%s: %s", h->server, resp.error);
  if (resp.status != 200) {
    int rc = hvctl_server_error(&resp);
    hvctl_response_free(&resp);
    return rc;
  }
  int rc = HVCTL_FAIL;
  json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
  json_t *keys = o ? json_object_get(o, "keys") : NULL;
  size_t k;
  json_t *e;
  json_array_foreach(keys, k, e) {
    if (!json_is_true(json_object_get(e, "current"))) continue;
    const char *b64 = json_string_value(json_object_get(e, "public_key"));
    const char *id = json_string_value(json_object_get(e, "key_id"));
    hv_crypto_err err;
    if (!b64 || !id || strlen(id) != 16 ||
        hv_crypto_base64_decode(b64, strlen(b64), pk, pk_len, &err) != HV_CRYPTO_OK)
      break;
    memcpy(key_id, id, 17);
    rc = HVCTL_OK;
    break;
  }
  if (rc != HVCTL_OK) hvctl_fail("GET /v1/keys: no usable current key in the answer");
  json_decref(o);
  hvctl_response_free(&resp);
  return rc;
}

/* Types the command-line arguments by the export's signature (read from the module locally). */
static int hvctl_type_args(const hvctl_exec_opts *opt, const uint8_t *wasm, size_t wasm_len,
                           wasm_value **out) {
  wasm_error err = {0};
  wasm_module *module = wasm_module_load(wasm, wasm_len, &err);
  if (!module) return hvctl_fail("%s: INVALID_WASM: %s", opt->file, err.message);
  wasm_functype_view type;
  int rc = HVCTL_OK;
  if (!wasm_module_find_func_export(module, opt->invoke, strlen(opt->invoke), &type)) {
    rc = hvctl_fail("FUNCTION_NOT_FOUND: %s exports no function '%s'", opt->file, opt->invoke);
    goto done;
  }
  if ((uint32_t)opt->arg_count != type.param_count) {
    rc = hvctl_fail("INVALID_ARGUMENTS: %s takes %" PRIu32 " argument%s, got %d", opt->invoke,
                    type.param_count, type.param_count == 1 ? "" : "s", opt->arg_count);
    goto done;
  }
  *out = calloc(type.param_count ? type.param_count : 1, sizeof **out);
  if (!*out) {
    rc = hvctl_fail("out of memory");
    goto done;
  }
  for (int k = 0; k < opt->arg_count; k++) {
    valtext_status st = valtext_parse(type.params[k], opt->args[k], &(*out)[k]);
    if (st != VALTEXT_OK) {
      const char *tn = wasm_valtype_name(type.params[k]);
      rc = hvctl_fail("INVALID_ARGUMENTS: argument %d ('%.64s') is not a valid %s: %s", k + 1,
                      opt->args[k], tn ? tn : "value", valtext_status_message(st));
      free(*out);
      *out = NULL;
      goto done;
    }
  }
done:
  wasm_module_free(module);
  return rc;
}

static int hvctl_exec_run(const hvctl *h, const hvctl_exec_opts *opt) {
  int rc = HVCTL_FAIL;
  char why[256];
  size_t wasm_len = 0, pk_len = 0;
  uint8_t *wasm = cli_read_file(opt->file, CLI_FILE_MAX, &wasm_len, why, sizeof why);
  uint8_t *server_pk = NULL, *document = NULL;
  size_t document_len = 0;
  wasm_value *args = NULL;
  hv_value *typed = NULL;
  hv_client_key *key = NULL;
  hv_client_sealed sealed = {0};
  char *pk_b64 = NULL, *body = NULL, *url = NULL;
  json_t *req = NULL, *resp_json = NULL;
  hvctl_response resp = {0};
  hv_result_document *doc = NULL;
  hv_crypto_err err = {0};
  char key_id[17] = "";

  if (!wasm) return hvctl_fail("%s: %s", opt->file, why);
  if ((rc = hvctl_type_args(opt, wasm, wasm_len, &args)) != HVCTL_OK) goto done;
  rc = HVCTL_FAIL;
  if (hvctl_current_key(h, &server_pk, &pk_len, key_id) != HVCTL_OK) goto done;
  if (hv_client_key_generate(&key, &err) != HV_CRYPTO_OK ||
      hv_client_key_public_base64(key, &pk_b64, &err) != HV_CRYPTO_OK ||
      hv_client_seal_request(key, server_pk, pk_len, opt->invoke, wasm, wasm_len, &sealed, &err) !=
          HV_CRYPTO_OK) {
    hvctl_fail("cannot seal the module: %s", err.message);
    goto done;
  }

  req = json_object();
  json_t *arr = json_array();
  if (!req || !arr) {
    json_decref(arr);
    hvctl_fail("out of memory");
    goto done;
  }
  for (int k = 0; k < opt->arg_count; k++) json_array_append_new(arr, hvctl_arg_json(&args[k]));
  json_object_set_new(req, "encrypted_wasm", json_string(sealed.base64));
  json_object_set_new(req, "key_id", json_string(key_id));
  json_object_set_new(req, "function_name", json_string(opt->invoke));
  json_object_set_new(req, "arguments", arr);
  json_object_set_new(req, "public_key", json_string(pk_b64));
  if (opt->timeout_s) json_object_set_new(req, "timeout_seconds", json_integer(opt->timeout_s));
  if (opt->gas) {
    uint64_t gas = 0;
    if (valtext_parse_u64(opt->gas, &gas) != VALTEXT_OK || gas > INT64_MAX) {
      rc = hvctl_usage("--gas takes a count from 1 to 9223372036854775807 (got '%s')", opt->gas);
      goto done;
    }
    json_object_set_new(req, "gas_limit", json_integer((json_int_t)gas));
  }
  body = json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(17));
  url = hvctl_url(h, "/v1/execute");
  if (!body || !url) {
    hvctl_fail("out of memory");
    goto done;
  }
  hvctl_request hr = {.method = "POST", .url = url, .api_key = h->api_key, .body = body,
                      .body_len = strlen(body),
                      .timeout_s = (opt->timeout_s ? opt->timeout_s : 300) + 60};
  if (!hvctl_http(&hr, &resp)) {
    hvctl_fail("%s: %s", h->server, resp.error);
    goto done;
  }
  if (resp.status != 200) {
    rc = hvctl_server_error(&resp);
    goto done;
  }

  resp_json = json_loadb(resp.body, resp.len, JSON_REJECT_DUPLICATES, NULL);
  const char *rid = json_string_value(json_object_get(resp_json, "request_id"));
  const char *enc = json_string_value(json_object_get(resp_json, "encrypted_result"));
  const char *rc_hex = json_string_value(json_object_get(resp_json, "result_commitment"));
  const char *pc_hex = json_string_value(json_object_get(resp_json, "program_commitment"));
  const char *ac_hex = json_string_value(json_object_get(resp_json, "arguments_commitment"));
  const char *used_key = json_string_value(json_object_get(resp_json, "key_id"));
  if (!rid || !enc || !rc_hex || !pc_hex || !ac_hex) {
    hvctl_fail("the server's answer lacks request_id, encrypted_result or a commitment");
    goto done;
  }
  if (hv_client_open_response_base64(key, rid, enc, strlen(enc), &document, &document_len, &err) !=
      HV_CRYPTO_OK) {
    hvctl_fail("cannot open the result: %s", err.message);
    goto done;
  }
  typed = calloc(opt->arg_count ? (size_t)opt->arg_count : 1, sizeof *typed);
  if (!typed) {
    hvctl_fail("out of memory");
    goto done;
  }
  for (int k = 0; k < opt->arg_count; k++) typed[k] = hv_value_from_wasm(args[k]);
  hv_client_expected expected = {
      .request_id = rid,
      .function_name = opt->invoke,
      .wasm = wasm,
      .wasm_len = wasm_len,
      .arguments = typed,
      .argument_count = (size_t)opt->arg_count,
      .result_commitment = rc_hex,
      .program_commitment = pc_hex,
      .arguments_commitment = ac_hex,
  };
  if (hv_client_check_result(document, document_len, &expected, &doc, NULL, &err) != HV_CRYPTO_OK) {
    hvctl_fail("the result does not check out: %s", err.message);
    goto done;
  }
  for (size_t k = 0; k < doc->result_count; k++) hvctl_print_value(&doc->results[k]);
  printf("request_id: %s\nkey_id: %s\nresult_commitment: %s\nprogram_commitment: %s\n"
         "arguments_commitment: %s\ncommitments: verified\n",
         rid, used_key ? used_key : "?", rc_hex, pc_hex, ac_hex);
  if (fflush(stdout) != 0) {
    hvctl_fail("cannot write the results");
    goto done;
  }
  rc = HVCTL_OK;

done:
  free(typed);
  hv_commit_document_free(doc);
  free(document);
  json_decref(resp_json);
  hvctl_response_free(&resp);
  free(url);
  free(body);
  json_decref(req);
  free(pk_b64);
  hv_client_sealed_free(&sealed);
  hv_client_key_free(key);
  free(server_pk);
  free(args);
  free(wasm);
  return rc;
}

static int hvctl_exec(const hvctl *h, int argc, char **argv) {
  hvctl_exec_opts opt = {.invoke = "main"};
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    int m;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') break;
    if ((m = cli_option(argc, argv, &i, "--invoke", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--invoke needs an export name");
      opt.invoke = value;
    } else if ((m = cli_option(argc, argv, &i, "--timeout", &value)) != 0) {
      /* `hypervisor run`'s parser; the protocol carries whole seconds, so 0.5 is sent as 1. */
      uint64_t ns = 0;
      if (m < 0) return hvctl_usage("--timeout needs a value");
      if (!cli_parse_seconds(value, HVCTL_MAX_TIMEOUT_S, &ns))
        return hvctl_usage("--timeout takes seconds, more than 0 and at most 300 (got '%s')", value);
      opt.timeout_s = (long)cli_seconds_round_up(ns);
    } else if ((m = cli_option(argc, argv, &i, "--gas", &value)) != 0) {
      if (m < 0) return hvctl_usage("--gas needs a value");
      opt.gas = value;
    } else {
      return hvctl_usage("exec: unknown option '%s'", a);
    }
  }
  if (i >= argc) return hvctl_usage("exec: missing FILE.wasm");
  if (!h->api_key) return hvctl_usage("exec needs an API key: --api-key KEY or HYPERVISOR_API_KEY");
  opt.file = argv[i];
  opt.args = argv + i + 1;
  opt.arg_count = argc - i - 1;
  return hvctl_exec_run(h, &opt);
}

/* ---- verify ------------------------------------------------------------------------------- */

static int hvctl_verify(const hvctl *h, int argc, char **argv) {
  const char *id = NULL, *type = NULL, *hash = NULL;
  for (int i = 1; i < argc; i++) {
    const char *value = NULL;
    int m;
    if ((m = cli_option(argc, argv, &i, "--type", &value)) != 0) {
      if (m < 0) return hvctl_usage("--type needs result, program or arguments");
      type = value;
    } else if ((m = cli_option(argc, argv, &i, "--hash", &value)) != 0) {
      if (m < 0) return hvctl_usage("--hash needs a hex SHA-256");
      hash = value;
    } else if (argv[i][0] == '-') {
      return hvctl_usage("verify: unknown option '%s'", argv[i]);
    } else if (!id) {
      id = argv[i];
    } else {
      return hvctl_usage("verify takes one REQUEST_ID");
    }
  }
  if (!id) return hvctl_usage("verify: missing REQUEST_ID");
  if ((type == NULL) != (hash == NULL)) return hvctl_usage("--type and --hash go together");
  /* Ids and hex never need escaping; anything else the server refuses as malformed. */
  for (const char *p = id; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '-'))
      return hvctl_usage("REQUEST_ID must be a UUID (got '%.64s')", id);
  char path[512];
  if (type) {
    for (const char *p = type; *p; p++)
      if (!(*p >= 'a' && *p <= 'z')) return hvctl_usage("--type takes result, program or arguments");
    for (const char *p = hash; *p; p++)
      if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
        return hvctl_usage("--hash takes hex digits");
    snprintf(path, sizeof path, "/v1/verify/%.64s?commitment_type=%.16s&hash_value=%.128s", id,
             type, hash);
  } else {
    snprintf(path, sizeof path, "/v1/verify/%.64s", id);
  }
  char *url = hvctl_url(h, path);
  if (!url) return hvctl_fail("out of memory");
  hvctl_request req = {.method = "GET", .url = url, .timeout_s = 30};
  hvctl_response resp;
  bool ok = hvctl_http(&req, &resp);
  free(url);
  if (!ok) return hvctl_fail("%s: %s", h->server, resp.error);
  int rc = HVCTL_OK;
  if (resp.status != 200) {
    rc = hvctl_server_error(&resp);
  } else {
    json_t *o = json_loadb(resp.body, resp.len, 0, NULL);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(15)) : NULL;
    if (text) printf("%s\n", text);
    if (type && !json_is_true(json_object_get(o, "verified"))) {
      fprintf(stderr, "hvctl: the %s commitment does not match the record of %s\n", type, id);
      rc = HVCTL_FAIL;
    }
    free(text);
    json_decref(o);
  }
  hvctl_response_free(&resp);
  return rc;
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  hvctl h = {.server = HVCTL_DEFAULT_SERVER, .api_key = getenv("HYPERVISOR_API_KEY")};
  if (h.api_key && !h.api_key[0]) h.api_key = NULL;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    int m;
    if (a[0] != '-') break;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return hvctl_help(-1);
    if (strcmp(a, "--version") == 0) return cli_print_version("hvctl");
    if ((m = cli_option(argc, argv, &i, "--server", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--server needs a URL");
      h.server = value;
    } else if ((m = cli_option(argc, argv, &i, "--api-key", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--api-key needs a key");
      h.api_key = value;
    } else {
      return hvctl_usage("unknown option '%s'", a);
    }
  }
  if (i >= argc) return hvctl_usage("missing COMMAND");
  const char *cmd = argv[i];
  int command = hvctl_command_index(cmd);
  if (command < 0) return hvctl_usage("unknown command '%s'", cmd);
  int sub_argc = argc - i;
  char **sub_argv = argv + i;
  /* Options given after the command name (--server, --api-key) are taken too. */
  int w = 1;
  for (int k = 1; k < sub_argc; k++) {
    const char *value = NULL;
    int m;
    if (strcmp(cmd, "exec") == 0) {
      if (sub_argv[k][0] != '-' || strcmp(sub_argv[k], "--") == 0) {
        while (k < sub_argc) sub_argv[w++] = sub_argv[k++]; /* FILE and ARGs stay as they are */
        break;
      }
      if ((strcmp(sub_argv[k], "--invoke") == 0 || strcmp(sub_argv[k], "--timeout") == 0 ||
           strcmp(sub_argv[k], "--gas") == 0) &&
          k + 1 < sub_argc) {
        sub_argv[w++] = sub_argv[k++]; /* an exec option and its value */
        sub_argv[w++] = sub_argv[k];
        continue;
      }
    }
    /* --help among the command's options (for exec: before FILE) prints that command's usage. */
    if (strcmp(sub_argv[k], "--help") == 0 || strcmp(sub_argv[k], "-h") == 0) return hvctl_help(command);
    if ((m = cli_option(sub_argc, sub_argv, &k, "--server", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--server needs a URL");
      h.server = value;
    } else if ((m = cli_option(sub_argc, sub_argv, &k, "--api-key", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--api-key needs a key");
      h.api_key = value;
    } else {
      sub_argv[w++] = sub_argv[k];
    }
  }
  sub_argc = w;

  if (!hvctl_http_init()) return hvctl_fail("cannot initialise libcurl");
  int rc;
  if (strcmp(cmd, "keys") == 0) {
    rc = sub_argc == 1 ? hvctl_get_and_print(&h, "/v1/keys", NULL, NULL, false)
                       : hvctl_usage("keys takes no arguments");
  } else if (strcmp(cmd, "health") == 0) {
    rc = sub_argc == 1 ? hvctl_get_and_print(&h, "/health", NULL, NULL, false)
                       : hvctl_usage("health takes no arguments");
  } else if (strcmp(cmd, "metrics") == 0) {
    bool json = sub_argc == 2 && strcmp(sub_argv[1], "--json") == 0;
    if (sub_argc > 2 || (sub_argc == 2 && !json))
      rc = hvctl_usage("metrics takes only --json");
    else if (!h.api_key)
      rc = hvctl_usage("metrics needs an API key: --api-key KEY or HYPERVISOR_API_KEY");
    else
      rc = hvctl_get_and_print(&h, "/metrics", h.api_key, json ? "application/json" : "text/plain",
                               !json);
  } else if (strcmp(cmd, "exec") == 0) {
    rc = hvctl_exec(&h, sub_argc, sub_argv);
  } else if (strcmp(cmd, "verify") == 0) {
    rc = hvctl_verify(&h, sub_argc, sub_argv);
  } else {
    rc = hvctl_usage("unknown command '%s'", cmd); /* a command in the table without a branch */
  }
  hvctl_http_cleanup();
  return rc;
}
