/*
 * hvctl.c: the client command of the service (docs/service.md, "hvctl").
 *
 *   hvctl [--server URL] [--api-key KEY] keys | health | metrics [--json]
 *   hvctl [--server URL] [--api-key KEY] exec [--invoke NAME] [--timeout SECONDS] [--gas N]
 *         [--result string|bytes] [--out FILE] [--v1] FILE.wasm [ARG...]
 *   hvctl [--server URL] [--api-key KEY] exec --wasi [--stdin FILE] [--timeout SECONDS] [--gas N]
 *         FILE.wasm [ARG...]
 *   hvctl [--server URL] verify REQUEST_ID [--type result|program|arguments --hash HEX]
 *   hvctl [--server URL] receipt verify --log-key KEY|@FILE [--online] FILE
 *   hvctl [--server URL] log key | log monitor --state FILE [--log-key KEY|@FILE] [--full]
 *         [--no-leaves]
 *   hvctl --version | hvctl [COMMAND] --help
 *   --cacert FILE (anywhere an option may go): trust this CA (PEM) for an https:// --server
 *
 * `exec` does the whole encrypted round trip in protocol v1.1: it reads the module, finds the
 * export's signature (with the engine, locally) to type the arguments as `hypervisor run` does
 * (numbers, s:TEXT, b64:BASE64, @FILE: cli_values_for_call), fetches the server's current key,
 * seals the module and the invocation document (function name, arguments, declared result) to it
 * with a fresh key pair, sends the request, opens the sealed result and checks all three
 * commitments before printing anything. Results print as `hypervisor run` prints them
 * (cli_print_values; --out writes a string or bytes result to a file), then the request_id, the
 * server key and the commitments. A failure's sealed detail (encrypted_error) is opened and
 * printed. --v1 sends the v1 form instead (function_name and numeric arguments in clear), for a
 * server that speaks only v1.
 *
 * `exec --wasi` runs FILE as a WASI command (a server with wasm.wasi: stdio; docs/wasi.md): argv is
 * FILE's base name then the ARGs, stdin the bytes of --stdin FILE ("-": hvctl's own; none: empty),
 * both sealed in the invocation; the program's stdout and stderr, once the result checks out,
 * go to hvctl's stdout and stderr, then the receipt (request_id, commitments) to stderr as
 * "hvctl: " lines, and hvctl exits with the program's exit code (255 for one above 255).
 *
 * Exit status: 0 success; 1 a server error (its error_code and message on stderr), a failed
 * check, or no answer; 2 a usage error. With --wasi: the program's exit code; 125 instead of 1.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <openssl/crypto.h>

#include "argtext.h"
#include "cli.h"
#include "cli_file.h"
#include "cli_output.h"
#include "hv_client.h"
#include "hv_json.h"
#include "hvctl_http.h"
#include "hvctl_log.h"
#include "valtext.h"
#include "wasm_engine.h"

enum { HVCTL_OK = 0, HVCTL_FAIL = 1, HVCTL_USAGE = 2 };
/* exec --wasi: hvctl's own failure, apart from the codes programs usually exit with (as env(1)). */
#define HVCTL_WASI_FAILED 125

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
    {"exec", "exec [--invoke NAME] [--timeout SECONDS] [--gas N] [--result string|bytes] [--out FILE] "
             "[--v1] FILE.wasm [ARG...]"},
    {"exec", "exec --wasi [--stdin FILE] [--timeout SECONDS] [--gas N] FILE.wasm [ARG...]"},
    {"exec", "exec ... --receipt FILE FILE.wasm [ARG...]   (either form: save the log receipt)"},
    {"verify", "verify REQUEST_ID [--type result|program|arguments --hash HEX]"},
    {"receipt", "receipt verify --log-key KEY|@FILE [--online] FILE"},
    {"log", "log key"},
    {"log", "log monitor --state FILE [--log-key KEY|@FILE] [--full] [--no-leaves]"},
};
#define HVCTL_COMMAND_COUNT (sizeof hvctl_commands / sizeof hvctl_commands[0])
#define HVCTL_USAGE_FOOTER                                                                      \
  "The API key may also come from HYPERVISOR_API_KEY; --server defaults to " HVCTL_DEFAULT_SERVER \
  ".\n--cacert FILE: check an https:// server against this CA (PEM) instead of the system's.\n"

/* The whole usage (command < 0) or one command's, on `out`. */
static void hvctl_print_usage(FILE *out, int command) {
  fputs("usage: hvctl [--server URL] [--api-key KEY] ", out);
  if (command >= 0) {
    fprintf(out, "%s\n", hvctl_commands[command].usage);
    for (size_t k = (size_t)command + 1; k < HVCTL_COMMAND_COUNT; k++) /* exec has two forms */
      if (strcmp(hvctl_commands[k].name, hvctl_commands[command].name) == 0)
        fprintf(out, "       hvctl [--server URL] [--api-key KEY] %s\n", hvctl_commands[k].usage);
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

/* exec's options that take a value; main() keeps each with its value when it follows `exec`. */
static const char *const hvctl_exec_value_options[] = {"--invoke", "--timeout", "--gas", "--result",
                                                       "--out", "--stdin", "--receipt"};
#define HVCTL_EXEC_VALUE_OPTION_COUNT (sizeof hvctl_exec_value_options / sizeof hvctl_exec_value_options[0])

typedef struct hvctl_exec_opts {
  const char *invoke;
  const char *file;
  char **args;
  int arg_count;
  long timeout_s;       /* 0: the server's */
  bool has_gas;
  uint64_t gas;         /* --gas, when has_gas */
  hv_type result_type;  /* 0, or HV_TYPE_STRING / HV_TYPE_BYTES from --result */
  const char *out_file; /* --out: the string or bytes result's raw bytes go there */
  const char *receipt_file; /* --receipt: the 200's transparency-log receipt is saved there */
  bool v1;              /* --v1: the v1 request form, function_name and arguments in clear */
  bool wasi;              /* --wasi: a WASI command, ARGs its argv */
  const char *stdin_file; /* --stdin: the command's stdin ("-": hvctl's); NULL: empty */
} hvctl_exec_opts;

/* The call as hvctl checks it locally, before anything is sent. */
typedef struct hvctl_call {
  uint8_t *wasm; /* the module as read */
  size_t wasm_len;
  cli_values args;       /* typed by the export's signature */
  hv_type *result_types; /* what the result document must hold: the declared string or bytes */
  size_t result_count;   /* result, or the export's core results */
  /* --wasi: argv (its strings are FILE's base name and the ARGs: not owned), stdin, and both as
   * the canonical arguments the commitment covers (argv strings, then stdin as bytes) */
  const char **wasi_argv;
  size_t wasi_argc;
  uint8_t *stdin_data;
  size_t stdin_len;
  hv_value *wasi_values;
} hvctl_call;

static void hvctl_call_free(hvctl_call *call) {
  free(call->wasi_argv);
  free(call->wasi_values);
  if (call->stdin_data) OPENSSL_cleanse(call->stdin_data, call->stdin_len);
  free(call->stdin_data);
  free(call->wasm);
  cli_values_free(&call->args);
  free(call->result_types);
  *call = (hvctl_call){0};
}

/* One line on stderr, "CODE: message", with control characters as spaces: a sealed detail holds
 * what the program and the server wrote, and none of it reaches the terminal raw. */
static void hvctl_print_error_line(const char *code, const char *message) {
  fprintf(stderr, "%s: ", code);
  for (const unsigned char *p = (const unsigned char *)message; *p; p++)
    fputc(*p < 0x20 || *p == 0x7f ? ' ' : *p, stderr);
  fputc('\n', stderr);
}

/* An error reply to exec: its sealed detail (encrypted_error, docs/service.md decision 13) opened
 * with the request's key when it has one, else the clear error_code and message; HVCTL_FAIL. */
static int hvctl_exec_error(const hvctl_exec_opts *opt, const hvctl_response *resp,
                            const hv_client_key *key) {
  json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
  const char *code = json_string_value(json_object_get(o, "error_code"));
  const char *msg = json_string_value(json_object_get(o, "message"));
  const char *rid = json_string_value(json_object_get(o, "request_id"));
  const char *sealed = json_string_value(json_object_get(o, "encrypted_error"));
  if (!code || !sealed || !rid) {
    hvctl_server_error(resp);
    /* A server that knows only v1 cannot read encrypted_invocation (and seals nothing). */
    if (!opt->v1 && resp->status == 400 && code && strcmp(code, "INVALID_REQUEST") == 0 && !sealed)
      fprintf(stderr, "hvctl: if the server speaks only protocol v1, try exec --v1\n");
    json_decref(o);
    return HVCTL_FAIL;
  }
  char *detail_code = NULL, *detail = NULL;
  hv_crypto_err err = {0};
  if (hv_client_open_error_base64(key, rid, sealed, strlen(sealed), &detail_code, &detail, &err) ==
      HV_CRYPTO_OK) {
    hvctl_print_error_line(detail_code, detail);
    if (strcmp(detail_code, code) != 0)
      fprintf(stderr, "hvctl: the reply's clear error_code is %s\n", code);
  } else {
    hvctl_print_error_line(code, msg ? msg : "");
    fprintf(stderr, "hvctl: the sealed error detail could not be opened: %s\n", err.message);
  }
  fprintf(stderr, "request_id: %s\n", rid);
  free(detail_code);
  free(detail);
  json_decref(o);
  return HVCTL_FAIL;
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

/* --wasi's part of hvctl_exec_prepare: the entry _start of type () -> (), argv, stdin and the
 * canonical arguments into *call. */
static int hvctl_exec_prepare_wasi(const hvctl_exec_opts *opt, const hvw_module *module,
                                   hvctl_call *call) {
  char why[512];
  hvw_functype_view type;
  if (!hvw_module_find_func_export(module, "_start", 6, &type) || type.param_count != 0 ||
      type.result_count != 0)
    return hvctl_fail("FUNCTION_NOT_FOUND: %s exports no function '_start' of type () -> () (a WASI "
                      "command's entry)", opt->file);
  if (opt->stdin_file) {
    const char *path = strcmp(opt->stdin_file, "-") == 0 ? "/dev/stdin" : opt->stdin_file;
    call->stdin_data = cli_read_file(path, CLI_FILE_MAX, &call->stdin_len, why, sizeof why);
    if (!call->stdin_data) return hvctl_fail("%s: %s", opt->stdin_file, why);
  }
  call->wasi_argc = (size_t)opt->arg_count + 1;
  if (call->wasi_argc >= HV_COMMIT_MAX_VALUES)
    return hvctl_usage("--wasi takes at most %d arguments", HV_COMMIT_MAX_VALUES - 2);
  call->wasi_argv = calloc(call->wasi_argc, sizeof *call->wasi_argv);
  call->wasi_values = calloc(call->wasi_argc + 1, sizeof *call->wasi_values);
  if (!call->wasi_argv || !call->wasi_values) return hvctl_fail("out of memory");
  const char *slash = strrchr(opt->file, '/');
  call->wasi_argv[0] = slash && slash[1] ? slash + 1 : opt->file; /* as a shell names a program */
  for (int k = 0; k < opt->arg_count; k++) call->wasi_argv[k + 1] = opt->args[k];
  for (size_t k = 0; k < call->wasi_argc; k++)
    call->wasi_values[k] = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)call->wasi_argv[k],
                                         strlen(call->wasi_argv[k]));
  call->wasi_values[call->wasi_argc] = hv_value_blob(HV_TYPE_BYTES, call->stdin_data, call->stdin_len);
  return HVCTL_OK;
}

/*
 * Reads the module, finds the export (with the engine, locally), types the arguments by its core
 * signature and checks the call's shape with the declared result (cli_values_for_call, as
 * `hypervisor run`), and notes the results the document must hold. An argument whose text is
 * malformed whatever the module (`s:` not UTF-8, `b64:` not base64) is a usage error; one that
 * does not fit the export is INVALID_ARGUMENTS, as the server would answer. On success the caller
 * owns *call (hvctl_call_free); on failure it is empty.
 */
static int hvctl_exec_prepare(const hvctl_exec_opts *opt, hvctl_call *call) {
  char why[512];
  *call = (hvctl_call){0};
  call->wasm = cli_read_file(opt->file, CLI_FILE_MAX, &call->wasm_len, why, sizeof why);
  if (!call->wasm) return hvctl_fail("%s: %s", opt->file, why);
  hvw_error err = {0};
  hvw_module *module = hvw_module_load(call->wasm, call->wasm_len, &err);
  if (!module) {
    hvctl_call_free(call);
    return hvctl_fail("%s: INVALID_WASM: %s", opt->file, err.message);
  }
  int rc = HVCTL_OK;
  hvw_functype_view type;
  if (opt->wasi) {
    rc = hvctl_exec_prepare_wasi(opt, module, call);
    goto done;
  }
  if (!hvw_module_find_func_export(module, opt->invoke, strlen(opt->invoke), &type)) {
    rc = hvctl_fail("FUNCTION_NOT_FOUND: %s exports no function '%s'", opt->file, opt->invoke);
    goto done;
  }
  cli_value_status st = cli_values_for_call(opt->invoke, opt->args, (size_t)opt->arg_count, &type,
                                            opt->result_type, &call->args, why, sizeof why);
  if (st == CLI_VALUE_BAD_UTF8 || st == CLI_VALUE_BAD_BASE64) {
    rc = hvctl_usage("%s", why);
    goto done;
  }
  if (st == CLI_VALUE_NO_MEMORY) {
    rc = hvctl_fail("out of memory");
    goto done;
  }
  if (st != CLI_VALUE_OK) {
    rc = hvctl_fail("INVALID_ARGUMENTS: %s", why);
    goto done;
  }
  call->result_count = opt->result_type ? 1 : type.result_count;
  call->result_types = calloc(call->result_count ? call->result_count : 1, sizeof *call->result_types);
  if (!call->result_types) {
    rc = hvctl_fail("out of memory");
    goto done;
  }
  for (size_t k = 0; k < call->result_count; k++)
    call->result_types[k] = opt->result_type ? opt->result_type : (hv_type)type.results[k];
done:
  hvw_module_free(module);
  if (rc != HVCTL_OK) hvctl_call_free(call);
  return rc;
}

/*
 * The request body for `call` as JSON text (*body, caller frees): v1.1 by default, the module and
 * the invocation document sealed in one HPKE context (hv_client_seal_request_body_v11); with --v1 the
 * module alone (hv_client_seal_request) and function_name and arguments in clear. Both take the
 * arguments' JSON forms from hv_client_invocation_build, the library's one writer of them.
 */
static int hvctl_exec_body(const hvctl_exec_opts *opt, const hvctl_call *call,
                           const hv_client_key *key, const uint8_t *server_pk, size_t pk_len,
                           const char *key_id, char **body) {
  int rc = HVCTL_FAIL;
  hv_crypto_err err = {0};
  char *invocation = NULL, *pk_b64 = NULL;
  size_t invocation_len = 0;
  hv_client_sealed sealed_wasm = {0};
  json_t *req = json_object(), *parsed = NULL;
  *body = NULL;

  if (!req) return hvctl_fail("out of memory");
  hv_crypto_status cst =
      opt->wasi ? hv_client_wasi_invocation_build(call->wasi_argv, call->wasi_argc, call->stdin_data,
                                                  call->stdin_len, &invocation, &invocation_len, &err)
                : hv_client_invocation_build(opt->invoke, call->args.values, call->args.count,
                                             opt->result_type, &invocation, &invocation_len, &err);
  if (cst == HV_CRYPTO_BAD_VALUE) {
    rc = hvctl_fail("INVALID_ARGUMENTS: the protocol cannot carry them: %s", err.message);
    goto done;
  }
  if (cst != HV_CRYPTO_OK || hv_client_key_public_base64(key, &pk_b64, &err) != HV_CRYPTO_OK) {
    hvctl_fail("cannot build the request: %s", err.message);
    goto done;
  }
  int bad = 0;
  if (opt->v1) {
    parsed = json_loadb(invocation, invocation_len, 0, NULL);
    json_t *arguments = json_object_get(parsed, "arguments");
    if (!arguments ||
        hv_client_seal_request(key, server_pk, pk_len, opt->invoke, call->wasm, call->wasm_len,
                               &sealed_wasm, &err) != HV_CRYPTO_OK) {
      hvctl_fail("cannot seal the module: %s", arguments ? err.message : "out of memory");
      goto done;
    }
    bad |= json_object_set_new(req, "function_name", json_string(opt->invoke));
    bad |= json_object_set(req, "arguments", arguments);
    bad |= json_object_set_new(req, "encrypted_wasm", json_string(sealed_wasm.base64));
  }
  bad |= json_object_set_new(req, "key_id", json_string(key_id));
  bad |= json_object_set_new(req, "public_key", json_string(pk_b64));
  if (opt->timeout_s) bad |= json_object_set_new(req, "timeout_seconds", json_integer(opt->timeout_s));
  if (opt->has_gas) bad |= json_object_set_new(req, "gas_limit", json_integer((json_int_t)opt->gas));
  char *members = bad ? NULL : json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(17));
  if (!members) {
    hvctl_fail("out of memory");
    goto done;
  }
  if (opt->v1) {
    *body = members;
  } else { /* sealed and encoded in place in one buffer */
    cst = hv_client_seal_request_body_v11(key, server_pk, pk_len, call->wasm, call->wasm_len,
                                          (const uint8_t *)invocation, invocation_len, members,
                                          body, NULL, &err);
    free(members);
    if (cst != HV_CRYPTO_OK) {
      hvctl_fail("cannot seal the module and the invocation: %s", err.message);
      goto done;
    }
  }
  rc = HVCTL_OK;
done:
  if (invocation) OPENSSL_cleanse(invocation, invocation_len); /* it holds the arguments */
  free(invocation);
  free(pk_b64);
  hv_client_sealed_free(&sealed_wasm);
  json_decref(parsed);
  json_decref(req);
  return rc;
}

/* The results hold the types asked for: the declared string or bytes, or the export's own. */
static bool hvctl_results_match(const hvctl_call *call, const hv_result_document *doc) {
  if (doc->result_count != call->result_count) return false;
  for (size_t k = 0; k < doc->result_count; k++)
    if (doc->results[k].type != call->result_types[k]) return false;
  return true;
}

/* A 200 reply opened and checked: its fields (borrowed from the reply's JSON) and the document. */
typedef struct {
  json_t *reply;
  const char *request_id, *key_id, *result_commitment, *program_commitment, *arguments_commitment;
  hv_result_document *doc;
} hvctl_checked;

static void hvctl_checked_free(hvctl_checked *c) {
  hv_commit_document_free(c->doc);
  json_decref(c->reply);
  *c = (hvctl_checked){0};
}

/* Opens a 200 reply's encrypted_result and checks it against what was sent (function_name, the
 * module and `args`, the three commitments: hv_client_check_result). HVCTL_OK with *out filled
 * (hvctl_checked_free), or HVCTL_FAIL with the reason printed and *out empty. */
static int hvctl_open_checked(const hvctl_response *resp, const hv_client_key *key,
                              const char *function_name, const hvctl_call *call,
                              const hv_value *args, size_t arg_count, hvctl_checked *out) {
  hv_crypto_err err = {0};
  uint8_t *document = NULL;
  size_t document_len = 0;
  int rc = HVCTL_FAIL;
  hvctl_checked c = {.reply = hv_json_loadb(resp->body, resp->len, JSON_REJECT_DUPLICATES, NULL)};
  c.request_id = json_string_value(json_object_get(c.reply, "request_id"));
  const char *enc = json_string_value(json_object_get(c.reply, "encrypted_result"));
  c.result_commitment = json_string_value(json_object_get(c.reply, "result_commitment"));
  c.program_commitment = json_string_value(json_object_get(c.reply, "program_commitment"));
  c.arguments_commitment = json_string_value(json_object_get(c.reply, "arguments_commitment"));
  c.key_id = json_string_value(json_object_get(c.reply, "key_id"));
  if (!c.key_id) c.key_id = "?";
  if (!c.request_id || !enc || !c.result_commitment || !c.program_commitment ||
      !c.arguments_commitment) {
    hvctl_fail("the server's answer lacks request_id, encrypted_result or a commitment");
    goto done;
  }
  if (hv_client_open_response_base64(key, c.request_id, enc, strlen(enc), &document,
                                     &document_len, &err) != HV_CRYPTO_OK) {
    hvctl_fail("cannot open the result: %s", err.message);
    goto done;
  }
  hv_client_expected expected = {
      .request_id = c.request_id,
      .function_name = function_name,
      .wasm = call->wasm,
      .wasm_len = call->wasm_len,
      .arguments = args,
      .argument_count = arg_count,
      .result_commitment = c.result_commitment,
      .program_commitment = c.program_commitment,
      .arguments_commitment = c.arguments_commitment,
  };
  if (hv_client_check_result(document, document_len, &expected, &c.doc, NULL, &err) !=
      HV_CRYPTO_OK) {
    hvctl_fail("the result does not check out: %s", err.message);
    goto done;
  }
  rc = HVCTL_OK;
done:
  if (document) OPENSSL_cleanse(document, document_len); /* the program's results */
  free(document);
  if (rc != HVCTL_OK) hvctl_checked_free(&c);
  *out = c;
  return rc;
}

/* A 200 reply: opened and checked (hvctl_open_checked and the result types), then the results
 * printed (cli_print_values, as `hypervisor run`) with the commitments. */
static int hvctl_exec_result(const hvctl_exec_opts *opt, const hvctl_call *call,
                             const hvctl_response *resp, const hv_client_key *key) {
  hvctl_checked c;
  if (hvctl_open_checked(resp, key, opt->invoke, call, call->args.values, call->args.count, &c) !=
      HVCTL_OK)
    return HVCTL_FAIL;
  int rc = HVCTL_FAIL;
  char why[512];
  if (!hvctl_results_match(call, c.doc)) {
    hvctl_fail("the result does not check out: its values are not of the types asked for");
    goto done;
  }
  if (cli_print_values(c.doc->results, c.doc->result_count, opt->out_file, why, sizeof why) !=
      CLI_OUTPUT_OK) {
    hvctl_fail("%s", why);
    goto done;
  }
  printf("request_id: %s\nkey_id: %s\nresult_commitment: %s\nprogram_commitment: %s\n"
         "arguments_commitment: %s\ncommitments: verified\n",
         c.request_id, c.key_id, c.result_commitment, c.program_commitment,
         c.arguments_commitment);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    hvctl_fail("cannot write the results");
    goto done;
  }
  rc = HVCTL_OK;
done:
  hvctl_checked_free(&c);
  return rc;
}

/* --wasi's 200: opened and checked (hvctl_open_checked, and that it is a command's), the
 * program's stdout and stderr written to hvctl's, then the receipt to stderr. HVCTL_OK with the
 * program's exit code in *program_rc, or HVCTL_FAIL. */
static int hvctl_exec_wasi_result(const hvctl_call *call, const hvctl_response *resp,
                                  const hv_client_key *key, int *program_rc) {
  hvctl_checked c;
  if (hvctl_open_checked(resp, key, "_start", call, call->wasi_values, call->wasi_argc + 1, &c) !=
      HVCTL_OK)
    return HVCTL_FAIL;
  int rc = HVCTL_FAIL;
  const hv_result_document *doc = c.doc;
  if (!doc->wasi) {
    hvctl_fail("the result does not check out: it is not a WASI command's (no exit_code)");
    goto done;
  }
  fflush(stdout);
  if ((doc->stdout_len && fwrite(doc->stdout_data, 1, doc->stdout_len, stdout) != doc->stdout_len) ||
      fflush(stdout) != 0 ||
      (doc->stderr_len && fwrite(doc->stderr_data, 1, doc->stderr_len, stderr) != doc->stderr_len)) {
    hvctl_fail("cannot write the program's output");
    goto done;
  }
  fprintf(stderr, "hvctl: request_id: %s\nhvctl: key_id: %s\nhvctl: result_commitment: %s\n"
                  "hvctl: program_commitment: %s\nhvctl: arguments_commitment: %s\n"
                  "hvctl: commitments: verified\n",
          c.request_id, c.key_id, c.result_commitment, c.program_commitment,
          c.arguments_commitment);
  *program_rc = doc->exit_code > 255 ? 255 : (int)doc->exit_code;
  rc = HVCTL_OK;
done:
  hvctl_checked_free(&c);
  return rc;
}

static int hvctl_exec_run(const hvctl *h, const hvctl_exec_opts *opt, int *program_rc) {
  int rc = HVCTL_FAIL;
  hvctl_call call;
  uint8_t *server_pk = NULL;
  size_t pk_len = 0;
  hv_client_key *key = NULL;
  char *body = NULL, *url = NULL;
  hvctl_response resp = {0};
  hv_crypto_err err = {0};
  char key_id[17] = "";

  if ((rc = hvctl_exec_prepare(opt, &call)) != HVCTL_OK) return rc;
  rc = HVCTL_FAIL;
  if (hvctl_current_key(h, &server_pk, &pk_len, key_id) != HVCTL_OK) goto done;
  if (hv_client_key_generate(&key, &err) != HV_CRYPTO_OK) {
    hvctl_fail("cannot make a key pair: %s", err.message);
    goto done;
  }
  if ((rc = hvctl_exec_body(opt, &call, key, server_pk, pk_len, key_id, &body)) != HVCTL_OK) goto done;
  rc = HVCTL_FAIL;
  url = hvctl_url(h, "/v1/execute");
  if (!url) {
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
  if (resp.status == 200 && opt->wasi)
    rc = hvctl_exec_wasi_result(&call, &resp, key, program_rc);
  else
    rc = resp.status == 200 ? hvctl_exec_result(opt, &call, &resp, key) : hvctl_exec_error(opt, &resp, key);
  /* The receipt is saved only for a result that checked out: it vouches for these commitments. */
  if (rc == HVCTL_OK && resp.status == 200 && opt->receipt_file &&
      hvctl_receipt_save(opt->receipt_file, resp.body, resp.len) != 0)
    rc = HVCTL_FAIL;

done:
  hvctl_response_free(&resp);
  free(url);
  free(body);
  hv_client_key_free(key);
  free(server_pk);
  hvctl_call_free(&call);
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
    if (strcmp(a, "--v1") == 0) {
      opt.v1 = true;
    } else if (strcmp(a, "--wasi") == 0) {
      opt.wasi = true;
    } else if ((m = cli_option(argc, argv, &i, "--stdin", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--stdin needs a file (- for standard input)");
      opt.stdin_file = value;
    } else if ((m = cli_option(argc, argv, &i, "--invoke", &value)) != 0) {
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
      if (valtext_parse_u64(value, &opt.gas) != VALTEXT_OK || opt.gas > INT64_MAX)
        return hvctl_usage("--gas takes a count from 1 to 9223372036854775807 (got '%s')", value);
      opt.has_gas = true;
    } else if ((m = cli_option(argc, argv, &i, "--result", &value)) != 0) {
      if (m < 0) return hvctl_usage("--result needs a value");
      if (strcmp(value, "string") == 0)
        opt.result_type = HV_TYPE_STRING;
      else if (strcmp(value, "bytes") == 0)
        opt.result_type = HV_TYPE_BYTES;
      else
        return hvctl_usage("--result takes string or bytes (got '%s')", value);
    } else if ((m = cli_option(argc, argv, &i, "--receipt", &value)) != 0) {
      if (m < 0 || value[0] == '\0') return hvctl_usage("--receipt needs a file name");
      opt.receipt_file = value;
    } else if ((m = cli_option(argc, argv, &i, "--out", &value)) != 0) {
      if (m < 0) return hvctl_usage("--out needs a value");
      if (value[0] == '\0') return hvctl_usage("--out needs a non-empty file name");
      opt.out_file = value;
    } else {
      return hvctl_usage("exec: unknown option '%s'", a);
    }
  }
  if (opt.out_file && opt.result_type == 0) return hvctl_usage("--out needs --result string or bytes");
  if (opt.wasi && (opt.v1 || opt.result_type || strcmp(opt.invoke, "main") != 0))
    return hvctl_usage("--wasi runs _start in protocol v1.1: no --invoke, --result, --out or --v1");
  if (opt.stdin_file && !opt.wasi) return hvctl_usage("--stdin needs --wasi");
  if (i >= argc) return hvctl_usage("exec: missing FILE.wasm");
  opt.file = argv[i];
  opt.args = argv + i + 1;
  opt.arg_count = argc - i - 1;
  /* The v1 form has numbers only: no declared result, no string or bytes argument. */
  if (opt.v1 && opt.result_type) return hvctl_usage("--v1 cannot declare a result: --result needs v1.1");
  for (int k = 0; opt.v1 && k < opt.arg_count; k++)
    if (cli_value_form(opt.args[k]) != 0)
      return hvctl_usage("--v1 takes numbers only: argument %d ('%.64s') is a string or bytes", k + 1,
                         opt.args[k]);
  if (!h->api_key) return hvctl_usage("exec needs an API key: --api-key KEY or HYPERVISOR_API_KEY");
  int program_rc = -1;
  int rc = hvctl_exec_run(h, &opt, &program_rc);
  if (!opt.wasi) return rc;
  return rc == HVCTL_OK ? program_rc : rc == HVCTL_USAGE ? HVCTL_USAGE : HVCTL_WASI_FAILED;
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
    } else if ((m = cli_option(argc, argv, &i, "--cacert", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--cacert needs a file");
      hvctl_http_set_cacert(value);
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
      bool takes_value = false;
      for (size_t o = 0; o < HVCTL_EXEC_VALUE_OPTION_COUNT; o++)
        takes_value = takes_value || strcmp(sub_argv[k], hvctl_exec_value_options[o]) == 0;
      if (takes_value && k + 1 < sub_argc) {
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
    } else if ((m = cli_option(sub_argc, sub_argv, &k, "--cacert", &value)) != 0) {
      if (m < 0 || !value[0]) return hvctl_usage("--cacert needs a file");
      hvctl_http_set_cacert(value);
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
  } else if (strcmp(cmd, "receipt") == 0) {
    rc = hvctl_receipt_command(h.server, sub_argc, sub_argv);
  } else if (strcmp(cmd, "log") == 0) {
    rc = hvctl_log_command(h.server, sub_argc, sub_argv);
  } else {
    rc = hvctl_usage("unknown command '%s'", cmd); /* a command in the table without a branch */
  }
  hvctl_http_cleanup();
  return rc;
}
