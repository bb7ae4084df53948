/*
 * run.c: `hypervisor run`: loads a module, applies the sandbox policy, converts the arguments by the
 * export's signature (numbers, and strings and bytes through the Canonical ABI: argtext.h,
 * hv_cabi.h), runs the export under gas, memory and wall-clock limits and prints the results (or one
 * `CODE: message` line). With --wasi it runs a WASI command instead (hv_wasi, docs/wasi.md): argv
 * from the command line, stdin from --stdin FILE, the program's stdout and stderr written to its
 * own, and the program's exit code as its exit status. The reference is docs/cli.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argtext.h"
#include "cli.h"
#include "cli_file.h"
#include "cli_output.h"
#include "hv_cabi.h"
#include "hv_wasi.h"
#include "outcome.h"
#include "valtext.h"
#include "wasm_engine.h"

#define RUN_MAX_TIMEOUT_S 3600.0
#define RUN_MAX_MEMORY_MB 4096u /* 65536 pages: all a 32-bit memory can address */
#define RUN_MSG_MAX 512
#define RUN_DEFAULT_MAX_RESULT_BYTES ((uint64_t)16 * 1024 * 1024) /* the service's wasm.max_result_bytes */

typedef struct run_options {
  const char *invoke;
  const char *file;
  char **args;
  int arg_count;
  uint64_t timeout_ns;
  double timeout_s;
  uint64_t gas;
  uint32_t memory_mb;
  bool stats;
  hv_type result_type;       /* 0, or HV_TYPE_STRING / HV_TYPE_BYTES from --result */
  const char *out_file;      /* --out: the string or bytes result's raw bytes go there */
  uint64_t max_result_bytes; /* --max-result-bytes (with --wasi: each of stdout and stderr) */
  bool wasi;                 /* --wasi: run FILE as a WASI command, ARGs as its argv */
  const char *stdin_file;    /* --stdin: the command's stdin ("-": ours); NULL: empty */
} run_options;

/* --wasi: the exit status when the run itself failed (a trap, a limit, an invalid module), as
 * env(1) and timeout(1) use 125: apart from the codes programs usually exit with. */
#define RUN_WASI_EXIT_FAILED 125

/* What --stats prints; fields stay 0 for the stages that were not reached. */
typedef struct run_stats {
  uint64_t load_ns;
  uint64_t exec_ns;
  hvw_store_stats store;
} run_stats;

static uint64_t run_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((format(printf, 1, 2))) static int run_usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hypervisor run: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nusage: " CLI_RUN_USAGE "\n", stderr);
  return CLI_EXIT_USAGE;
}

/* The one failure line, `CODE: message`. */
__attribute__((format(printf, 2, 3))) static int run_fail(outcome_code code, const char *fmt, ...) {
  char msg[RUN_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' '; /* one line, whatever the engine wrote */
  fprintf(stderr, "%s: %s\n", outcome_code_name(code), msg);
  return CLI_EXIT_FAILURE;
}

static int run_parse_options(int argc, char **argv, run_options *opt) {
  hvw_store_limits defaults;
  hvw_store_limits_default(&defaults);
  *opt = (run_options){.invoke = "main",
                       .timeout_ns = 10ull * 1000000000u,
                       .timeout_s = 10.0,
                       .gas = defaults.gas_limit,
                       .memory_mb = 64,
                       .max_result_bytes = RUN_DEFAULT_MAX_RESULT_BYTES};
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i], *value = NULL;
    int m;
    if (strcmp(arg, "--") == 0) {
      i++;
      break;
    }
    if (arg[0] != '-' || arg[1] == '\0') break; /* FILE; "-" alone is a file name too */
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) return -1;
    if (strcmp(arg, "--stats") == 0) {
      opt->stats = true;
    } else if (strcmp(arg, "--wasi") == 0) {
      opt->wasi = true;
    } else if ((m = cli_option(argc, argv, &i, "--stdin", &value)) != 0) {
      if (m < 0) return run_usage("--stdin needs a file (- for standard input)");
      if (value[0] == '\0') return run_usage("--stdin needs a non-empty file name");
      opt->stdin_file = value;
    } else if ((m = cli_option(argc, argv, &i, "--invoke", &value)) != 0) {
      if (m < 0) return run_usage("--invoke needs a value");
      if (value[0] == '\0') return run_usage("--invoke needs a non-empty export name");
      opt->invoke = value;
    } else if ((m = cli_option(argc, argv, &i, "--timeout", &value)) != 0) {
      if (m < 0) return run_usage("--timeout needs a value");
      if (!cli_parse_seconds(value, RUN_MAX_TIMEOUT_S, &opt->timeout_ns))
        return run_usage("--timeout takes seconds, more than 0 and at most 3600 (got '%s')", value);
      opt->timeout_s = strtod(value, NULL);
    } else if ((m = cli_option(argc, argv, &i, "--gas", &value)) != 0) {
      if (m < 0) return run_usage("--gas needs a value");
      if (valtext_parse_u64(value, &opt->gas) != VALTEXT_OK)
        return run_usage("--gas takes a count from 0 to 18446744073709551615 (got '%s')", value);
    } else if ((m = cli_option(argc, argv, &i, "--memory-mb", &value)) != 0) {
      uint64_t mb = 0;
      if (m < 0) return run_usage("--memory-mb needs a value");
      if (valtext_parse_u64(value, &mb) != VALTEXT_OK || mb > RUN_MAX_MEMORY_MB)
        return run_usage("--memory-mb takes a count of MiB from 0 to %u (got '%s')", RUN_MAX_MEMORY_MB,
                         value);
      opt->memory_mb = (uint32_t)mb;
    } else if ((m = cli_option(argc, argv, &i, "--result", &value)) != 0) {
      if (m < 0) return run_usage("--result needs a value");
      if (strcmp(value, "string") == 0)
        opt->result_type = HV_TYPE_STRING;
      else if (strcmp(value, "bytes") == 0)
        opt->result_type = HV_TYPE_BYTES;
      else
        return run_usage("--result takes string or bytes (got '%s')", value);
    } else if ((m = cli_option(argc, argv, &i, "--out", &value)) != 0) {
      if (m < 0) return run_usage("--out needs a value");
      if (value[0] == '\0') return run_usage("--out needs a non-empty file name");
      opt->out_file = value;
    } else if ((m = cli_option(argc, argv, &i, "--max-result-bytes", &value)) != 0) {
      if (m < 0) return run_usage("--max-result-bytes needs a value");
      if (valtext_parse_u64(value, &opt->max_result_bytes) != VALTEXT_OK)
        return run_usage("--max-result-bytes takes a count from 0 to 18446744073709551615 (got '%s')", value);
    } else {
      return run_usage("unknown option '%s'", arg);
    }
  }
  if (opt->out_file && opt->result_type == 0) return run_usage("--out needs --result string or bytes");
  if (opt->wasi && (opt->result_type || strcmp(opt->invoke, "main") != 0))
    return run_usage("--wasi runs _start and prints the program's output: no --invoke, --result or --out");
  if (opt->stdin_file && !opt->wasi) return run_usage("--stdin needs --wasi");
  if (i >= argc) return run_usage("missing FILE.wasm");
  opt->file = argv[i];
  opt->args = argv + i + 1;
  opt->arg_count = argc - i - 1;
  return 0;
}

/*
 * Converts the command-line arguments by the signature (argtext.h) into *values and checks the call's
 * shape, the declared result included; on failure prints the line and returns 1.
 */
static int run_convert_args(const run_options *opt, const hvw_functype_view *type, cli_values *values) {
  char msg[RUN_MSG_MAX];
  cli_value_status st = cli_values_for_call(opt->invoke, opt->args, (size_t)opt->arg_count, type,
                                            opt->result_type, values, msg, sizeof msg);
  if (st == CLI_VALUE_NO_MEMORY) return run_fail(OUTCOME_INTERNAL_ERROR, "out of memory");
  if (st != CLI_VALUE_OK) return run_fail(OUTCOME_INVALID_ARGUMENTS, "%s", msg);
  return 0;
}

/*
 * The failure line for an engine outcome; our own wording where the limit is ours. `context`, when
 * not NULL, names the call into the guest that failed if it was not the export itself
 * ("cabi_realloc for argument 2 trapped") and ends the line in parentheses.
 */
static int run_engine_fail(const run_options *opt, const hvw_error *err, const char *context) {
  char msg[RUN_MSG_MAX];
  char ctx[RUN_MSG_MAX / 2] = "";
  outcome_code code = outcome_from_status(err->status);
  if (context) snprintf(ctx, sizeof ctx, " (%s)", context);
  switch (err->status) {
    case HVW_TIMEOUT:
      return run_fail(code, "execution exceeded the time limit of %g s%s", opt->timeout_s, ctx);
    case HVW_GAS_EXHAUSTED:
      return run_fail(code, "execution used up its gas limit of %llu%s", (unsigned long long)opt->gas, ctx);
    case HVW_MEMORY_EXCEEDED:
      return run_fail(code, "%s (limit %u MiB)%s", outcome_describe(err, msg, sizeof msg), opt->memory_mb, ctx);
    default:
      return run_fail(code, "%s%s", outcome_describe(err, msg, sizeof msg), ctx);
  }
}

/*
 * For HV_CABI_ENGINE: the call's part of hv_cabi_call's detail ("cabi_realloc for argument 2
 * trapped", "cabi_post_f ran out of gas") when cabi_realloc or cabi_post_<name> failed, copied into
 * buf; NULL when the export itself did (its messages stay as they were before the Canonical ABI).
 */
static const char *run_cabi_context(const run_options *opt, const char *detail, char *buf, size_t size) {
  static const char realloc_prefix[] = "cabi_realloc ", post_prefix[] = "cabi_post_";
  size_t skip, name_len = strlen(opt->invoke);
  if (strncmp(detail, realloc_prefix, sizeof realloc_prefix - 1) == 0) {
    skip = sizeof realloc_prefix - 1;
  } else if (strncmp(detail, post_prefix, sizeof post_prefix - 1) == 0) {
    if (name_len > 64) name_len = 64; /* hv_cabi_call cuts names there */
    skip = sizeof post_prefix - 1 + name_len;
    if (strnlen(detail, skip) < skip) return NULL;
  } else {
    return NULL;
  }
  const char *colon = strstr(detail + skip, ": ");
  size_t n = colon ? (size_t)(colon - detail) : strlen(detail);
  snprintf(buf, size, "%.*s", (int)n, detail);
  return buf;
}

/* The failure line for a status of hv_cabi_call (outcome_from_cabi gives the code). */
static int run_cabi_fail(const run_options *opt, hv_cabi_status st, const hvw_error *err, const char *detail) {
  char ctx[RUN_MSG_MAX / 2];
  if (st == HV_CABI_ENGINE) return run_engine_fail(opt, err, run_cabi_context(opt, detail, ctx, sizeof ctx));
  if (st == HV_CABI_HOST_MEMORY) return run_fail(OUTCOME_INTERNAL_ERROR, "out of memory");
  return run_fail(outcome_from_cabi(st, err), "%s", detail[0] ? detail : hv_cabi_status_text(st));
}

/* Prints the results (docs/cli.md, "Output"; cli_output.h); returns the exit status. */
static int run_print_results(const run_options *opt, const hv_cabi_result *res) {
  char why[RUN_MSG_MAX];
  cli_output_status st = cli_print_values(res->values, res->count, opt->out_file, why, sizeof why);
  if (st == CLI_OUTPUT_FILE) {
    fprintf(stderr, "hypervisor run: %s\n", why);
    return CLI_EXIT_FAILURE;
  }
  if (st != CLI_OUTPUT_OK) return run_fail(OUTCOME_INTERNAL_ERROR, "%s", why);
  if (fflush(stdout) != 0 || ferror(stdout)) return run_fail(OUTCOME_INTERNAL_ERROR, "cannot write the results");
  return CLI_EXIT_OK;
}

/* Instantiates and calls under the watchdog; prints the results or the failure line. */
static int run_execute(const run_options *opt, const hvw_module *module, const cli_values *args,
                       run_stats *stats) {
  int rc = CLI_EXIT_FAILURE;
  hvw_error err = {0};
  hvw_store *store = NULL;
  hvw_watchdog *watchdog = NULL;
  hv_cabi_result res = {0};
  uint64_t ticket = 0;
  char detail[RUN_MSG_MAX];

  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = opt->gas;
  limits.max_memory_pages = opt->memory_mb * (1024u * 1024u / HVW_PAGE_SIZE);

  store = hvw_store_new(&limits, &err);
  if (!store) {
    rc = run_engine_fail(opt, &err, NULL);
    goto done;
  }
  watchdog = hvw_watchdog_new(&err);
  if (!watchdog) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "cannot start the watchdog: %s",
                  outcome_describe(&err, (char[RUN_MSG_MAX]){0}, RUN_MSG_MAX));
    goto done;
  }

  /* The start function runs inside hvw_instance_new: the limit covers it too, and cabi_realloc and
   * cabi_post_<name> as well as the export. */
  uint64_t t0 = run_now_ns();
  ticket = hvw_watchdog_arm(watchdog, store, opt->timeout_ns);
  if (ticket == 0) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "cannot arm the watchdog");
    goto done;
  }
  hv_cabi_status st = HV_CABI_OK;
  hvw_instance *instance = hvw_instance_new(store, module, NULL, 0, &err);
  if (instance)
    st = hv_cabi_call(store, instance, opt->invoke, strlen(opt->invoke), args->values, args->count,
                      opt->result_type, opt->max_result_bytes, &res, &err, detail, sizeof detail);
  hvw_watchdog_disarm(watchdog, ticket);
  ticket = 0;
  stats->exec_ns = run_now_ns() - t0;
  hvw_store_get_stats(store, &stats->store);

  if (!instance) {
    rc = run_engine_fail(opt, &err, NULL);
    goto done;
  }
  if (st != HV_CABI_OK) {
    rc = run_cabi_fail(opt, st, &err, detail);
    goto done;
  }
  rc = run_print_results(opt, &res);

done:
  if (ticket) hvw_watchdog_disarm(watchdog, ticket);
  if (watchdog) hvw_watchdog_free(watchdog);
  if (store) hvw_store_free(store);
  hv_cabi_result_free(&res);
  return rc;
}

/* ---- --wasi ------------------------------------------------------------------------------- */

/* The last path component: the program's argv[0], as a shell would give the program's name. */
static const char *run_base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash && slash[1] ? slash + 1 : path;
}

/* Writes len bytes to f; false on an error. */
static bool run_write_all(FILE *f, const uint8_t *data, size_t len) {
  return len == 0 || fwrite(data, 1, len, f) == len;
}

/*
 * Runs the WASI command under the limits: argv = [base name of FILE, ARG...], stdin from
 * --stdin. Whatever it wrote goes out first (also when it then failed, as a native program's
 * output would), then on a failure the `CODE: message` line. Returns the program's exit code
 * (above 255: 255, never a success), RUN_WASI_EXIT_FAILED when the run failed.
 */
static int run_wasi(const run_options *opt, const hvw_module *module, run_stats *stats) {
  int rc = RUN_WASI_EXIT_FAILED;
  char detail[RUN_MSG_MAX] = "", why[256];
  hvw_error err = {0};
  hvw_store *store = NULL;
  hvw_watchdog *watchdog = NULL;
  hv_wasi_ctx *ctx = NULL;
  uint8_t *input = NULL;
  size_t input_len = 0;
  uint64_t ticket = 0;
  hv_wasi_bytes *argv = calloc((size_t)opt->arg_count + 1, sizeof *argv);
  if (!argv) return run_fail(OUTCOME_INTERNAL_ERROR, "out of memory"), RUN_WASI_EXIT_FAILED;
  const char *name = run_base_name(opt->file);
  argv[0] = (hv_wasi_bytes){(const uint8_t *)name, strlen(name)};
  for (int k = 0; k < opt->arg_count; k++)
    argv[k + 1] = (hv_wasi_bytes){(const uint8_t *)opt->args[k], strlen(opt->args[k])};
  if (opt->stdin_file) {
    const char *path = strcmp(opt->stdin_file, "-") == 0 ? "/dev/stdin" : opt->stdin_file;
    input = cli_read_file(path, CLI_FILE_MAX, &input_len, why, sizeof why);
    if (!input) {
      fprintf(stderr, "hypervisor run: cannot read '%s': %s\n", opt->stdin_file, why);
      goto done;
    }
  }
  size_t cap = opt->max_result_bytes > SIZE_MAX ? SIZE_MAX : (size_t)opt->max_result_bytes;
  hv_wasi_config config = {.argv = argv,
                           .argc = (size_t)opt->arg_count + 1,
                           .stdin_bytes = {input, input_len},
                           .max_stdout_bytes = cap,
                           .max_stderr_bytes = cap};
  hv_wasi_status ws = hv_wasi_new(&config, &ctx, detail, sizeof detail);
  if (ws != HV_WASI_OK) {
    run_fail(ws == HV_WASI_BAD_CONFIG ? OUTCOME_INVALID_ARGUMENTS : OUTCOME_INTERNAL_ERROR, "%s",
             detail[0] ? detail : hv_wasi_status_text(ws));
    goto done;
  }
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = opt->gas;
  limits.max_memory_pages = opt->memory_mb * (1024u * 1024u / HVW_PAGE_SIZE);
  store = hvw_store_new(&limits, &err);
  watchdog = store ? hvw_watchdog_new(&err) : NULL;
  if (!store || !watchdog) {
    run_engine_fail(opt, &err, NULL);
    goto done;
  }
  uint64_t t0 = run_now_ns();
  ticket = hvw_watchdog_arm(watchdog, store, opt->timeout_ns);
  if (ticket == 0) {
    run_fail(OUTCOME_INTERNAL_ERROR, "cannot arm the watchdog");
    goto done;
  }
  hvw_instance *instance = NULL;
  ws = hv_wasi_instantiate(ctx, store, module, &instance, &err, detail, sizeof detail);
  if (ws == HV_WASI_OK && instance) /* NULL: the start function called proc_exit */
    ws = hv_wasi_run(ctx, instance, "_start", &err, detail, sizeof detail);
  hvw_watchdog_disarm(watchdog, ticket);
  ticket = 0;
  stats->exec_ns = run_now_ns() - t0;
  hvw_store_get_stats(store, &stats->store);

  hv_wasi_result res;
  hv_wasi_get_result(ctx, &res);
  fflush(stdout);
  bool written = run_write_all(stdout, res.stdout_data, res.stdout_len) && fflush(stdout) == 0 &&
                 run_write_all(stderr, res.stderr_data, res.stderr_len) && fflush(stderr) == 0;
  switch (ws) {
    case HV_WASI_OK:
      if (!written) {
        fprintf(stderr, "hypervisor run: cannot write the program's output\n");
        goto done;
      }
      rc = res.exit_code > 255 ? 255 : (int)res.exit_code;
      break;
    case HV_WASI_ENGINE:
      run_engine_fail(opt, &err, NULL);
      break;
    case HV_WASI_OUTPUT_TOO_LARGE:
      run_fail(OUTCOME_EXECUTION_TRAP, "%s (--max-result-bytes %llu)", err.message,
               (unsigned long long)opt->max_result_bytes);
      break;
    case HV_WASI_BAD_MODULE:
      run_fail(OUTCOME_INVALID_WASM, "%s", detail[0] ? detail : hv_wasi_status_text(ws));
      break;
    default:
      run_fail(OUTCOME_INTERNAL_ERROR, "%s", hv_wasi_status_text(ws));
      break;
  }

done:
  if (ticket) hvw_watchdog_disarm(watchdog, ticket);
  if (watchdog) hvw_watchdog_free(watchdog);
  if (store) hvw_store_free(store);
  hv_wasi_free(ctx);
  free(input);
  free(argv);
  return rc;
}

static void run_print_stats(const run_stats *stats) {
  fprintf(stderr, "gas_used: %llu\n", (unsigned long long)stats->store.gas_used);
  fprintf(stderr, "execution_ms: %.3f\n", (double)stats->exec_ns / 1e6);
  fprintf(stderr, "translation_ms: %.3f\n", (double)stats->load_ns / 1e6);
  fprintf(stderr, "peak_memory_bytes: %llu\n", (unsigned long long)stats->store.memory_peak_bytes);
}

int cli_run(int argc, char **argv) {
  run_options opt;
  int rc = run_parse_options(argc, argv, &opt);
  if (rc < 0) return cli_print_usage(CLI_RUN_USAGE); /* --help */
  if (rc != 0) return rc;

  run_stats stats = {0};
  hvw_module *module = NULL;
  cli_values args = {0};
  char why[256];
  size_t size = 0;
  uint8_t *bytes = cli_read_file(opt.file, CLI_FILE_MAX, &size, why, sizeof why);
  if (!bytes) {
    fprintf(stderr, "hypervisor run: cannot read '%s': %s\n", opt.file, why);
    return opt.wasi ? RUN_WASI_EXIT_FAILED : CLI_EXIT_FAILURE;
  }

  hvw_error err = {0};
  uint64_t t0 = run_now_ns();
  module = hvw_module_load(bytes, size, &err);
  stats.load_ns = run_now_ns() - t0;
  free(bytes);
  if (!module) {
    rc = run_engine_fail(&opt, &err, NULL);
    if (opt.wasi) rc = RUN_WASI_EXIT_FAILED;
    goto done;
  }

  char msg[RUN_MSG_MAX];
  if (opt.wasi) {
    /* Only wasi_snapshot_preview1 imports, and an entry _start of type () -> (). */
    hvw_functype_view start;
    if (hv_wasi_check_module(module, msg, sizeof msg) != HV_WASI_OK) {
      run_fail(OUTCOME_INVALID_WASM, "%s", msg);
    } else if (!hvw_module_find_func_export(module, "_start", 6, &start)) {
      run_fail(OUTCOME_FUNCTION_NOT_FOUND, "no exported function '_start' (a WASI command's entry)");
    } else if (start.param_count != 0 || start.result_count != 0) {
      run_fail(OUTCOME_FUNCTION_NOT_FOUND, "'_start' must have type () -> ()");
    } else {
      rc = run_wasi(&opt, module, &stats);
      goto done;
    }
    rc = RUN_WASI_EXIT_FAILED;
    goto done;
  }
  if (!outcome_sandbox_check(module, msg, sizeof msg)) {
    rc = run_fail(OUTCOME_INVALID_WASM, "%s", msg);
    goto done;
  }
  hvw_functype_view type;
  if (!hvw_module_find_func_export(module, opt.invoke, strlen(opt.invoke), &type)) {
    rc = run_fail(OUTCOME_FUNCTION_NOT_FOUND, "no exported function '%.64s'", opt.invoke);
    goto done;
  }
  rc = run_convert_args(&opt, &type, &args);
  if (rc != 0) goto done;
  rc = run_execute(&opt, module, &args, &stats);

done:
  if (opt.stats) run_print_stats(&stats);
  cli_values_free(&args);
  if (module) hvw_module_free(module);
  return rc;
}
