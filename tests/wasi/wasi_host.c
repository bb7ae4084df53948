/*
 * wasi_host.c: a tiny host for WASI commands, for the tests (not a tool of the service): runs
 * FILE.wasm's _start through the WASI stdio profile (include/hv_wasi.h) with stdin read whole from
 * this process's stdin, argv = the file's base name then ARGs, and writes what the program wrote
 * to stdout and stderr to its own. Exits with the program's exit code; 125 if the program could not
 * run or was stopped (the reason on stderr, after the program's own output).
 *
 *   wasi_host [--max-output BYTES] [--gas N] FILE.wasm [ARG...]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_wasi.h"

static uint8_t *read_all(FILE *f, size_t *len) {
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) {
      uint8_t *p = realloc(buf, cap * 2);
      if (!p) free(buf);
      buf = p;
      cap *= 2;
    }
  }
  *len = n;
  return buf;
}

static int fail(const char *what, const char *why) {
  fprintf(stderr, "wasi_host: %s: %s\n", what, why);
  return 125;
}

int main(int argc, char **argv) {
  size_t max_output = 16u << 20;
  uint64_t gas = 0;
  int i = 1;
  for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (strcmp(argv[i], "--max-output") == 0) max_output = strtoull(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--gas") == 0) gas = strtoull(argv[i + 1], NULL, 10);
    else return fail(argv[i], "unknown option");
  }
  if (i >= argc) return fail("usage", "wasi_host [--max-output BYTES] [--gas N] FILE.wasm [ARG...]");
  const char *path = argv[i];

  FILE *f = fopen(path, "rb");
  if (!f) return fail(path, "cannot open");
  size_t wasm_len, stdin_len;
  uint8_t *wasm = read_all(f, &wasm_len);
  fclose(f);
  uint8_t *input = read_all(stdin, &stdin_len);
  if (!wasm || !input) return fail(path, "out of memory");

  int nargs = argc - i;
  hv_wasi_bytes *args = calloc((size_t)nargs, sizeof *args);
  if (!args) return fail(path, "out of memory");
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  args[0] = (hv_wasi_bytes){(const uint8_t *)base, strlen(base)};
  for (int k = 1; k < nargs; k++) args[k] = (hv_wasi_bytes){(const uint8_t *)argv[i + k], strlen(argv[i + k])};

  hvw_error err = {0};
  char detail[256] = "";
  int code = 125;
  hv_wasi_ctx *ctx = NULL;
  hvw_store *store = NULL;
  hvw_instance *inst = NULL;
  hvw_module *module = hvw_module_load(wasm, wasm_len, &err);
  if (!module) {
    fail(path, err.message);
    goto done;
  }
  hv_wasi_config cfg = {.argv = args, .argc = (size_t)nargs, .stdin_bytes = {input, stdin_len},
                        .max_stdout_bytes = max_output, .max_stderr_bytes = max_output};
  hv_wasi_status st = hv_wasi_new(&cfg, &ctx, detail, sizeof detail);
  if (st != HV_WASI_OK) {
    fail(hv_wasi_status_text(st), detail);
    goto done;
  }
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  if (gas) limits.gas_limit = gas;
  store = hvw_store_new(&limits, &err);
  if (!store) {
    fail(path, err.message);
    goto done;
  }
  st = hv_wasi_instantiate(ctx, store, module, &inst, &err, detail, sizeof detail);
  if (st == HV_WASI_OK && inst) st = hv_wasi_run(ctx, inst, NULL, &err, detail, sizeof detail);

  hv_wasi_result r;
  hv_wasi_get_result(ctx, &r);
  if (r.stdout_len) fwrite(r.stdout_data, 1, r.stdout_len, stdout);
  if (r.stderr_len) fwrite(r.stderr_data, 1, r.stderr_len, stderr);
  fflush(stdout);
  if (st == HV_WASI_OK) {
    code = (int)r.exit_code;
  } else {
    fprintf(stderr, "wasi_host: %s: %s%s%s\n", hv_wasi_status_name(st), hv_wasi_status_text(st),
            detail[0] || err.message[0] ? ": " : "", detail[0] ? detail : err.message);
  }

done:
  hvw_store_free(store);
  hv_wasi_free(ctx);
  hvw_module_free(module);
  free(args);
  free(wasm);
  free(input);
  return code;
}
