/*
 * run.c: `hypervisor run`: loads a module, applies the sandbox policy, converts the arguments by the
 * export's signature, runs the export under gas, memory and wall-clock limits and prints the results
 * (or one `CODE: message` line). The reference is docs/cli.md.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_file.h"
#include "outcome.h"
#include "valtext.h"
#include "wasm_engine.h"

#define RUN_MAX_TIMEOUT_S 3600.0
#define RUN_MAX_MEMORY_MB 4096u /* 65536 pages: all a 32-bit memory can address */
#define RUN_MSG_MAX 512

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
} run_options;

/* What --stats prints; fields stay 0 for the stages that were not reached. */
typedef struct run_stats {
  uint64_t load_ns;
  uint64_t exec_ns;
  wasm_store_stats store;
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
  wasm_store_limits defaults;
  wasm_store_limits_default(&defaults);
  *opt = (run_options){.invoke = "main",
                       .timeout_ns = 10ull * 1000000000u,
                       .timeout_s = 10.0,
                       .gas = defaults.gas_limit,
                       .memory_mb = 64};
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
    } else {
      return run_usage("unknown option '%s'", arg);
    }
  }
  if (i >= argc) return run_usage("missing FILE.wasm");
  opt->file = argv[i];
  opt->args = argv + i + 1;
  opt->arg_count = argc - i - 1;
  return 0;
}

/* "(i32, f64)" */
static void run_signature(const wasm_valtype *types, uint32_t count, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "(");
  for (uint32_t k = 0; k < count && o < size; k++) {
    const char *name = wasm_valtype_name(types[k]);
    o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? ", " : "", name ? name : "?");
  }
  if (o < size) snprintf(buf + o, size - o, ")");
}

/* Converts the command-line arguments by the signature; on failure prints the line and returns 1. */
static int run_convert_args(const run_options *opt, const wasm_functype_view *type, wasm_value *args) {
  if ((uint32_t)opt->arg_count != type->param_count) {
    char sig[256];
    run_signature(type->params, type->param_count, sig, sizeof sig);
    return run_fail(OUTCOME_INVALID_ARGUMENTS, "%s takes %u argument%s %s, got %d", opt->invoke,
                    type->param_count, type->param_count == 1 ? "" : "s", sig, opt->arg_count);
  }
  for (int k = 0; k < opt->arg_count; k++) {
    wasm_valtype t = type->params[k];
    valtext_status st = valtext_parse(t, opt->args[k], &args[k]);
    if (st != VALTEXT_OK) {
      const char *tname = wasm_valtype_name(t);
      return run_fail(OUTCOME_INVALID_ARGUMENTS, "argument %d ('%.64s') is not a valid %s: %s", k + 1,
                      opt->args[k], tname ? tname : "value", valtext_status_message(st));
    }
  }
  return 0;
}

/* The failure line for an engine outcome; our own wording where the limit is ours. */
static int run_engine_fail(const run_options *opt, const wasm_error *err) {
  char msg[RUN_MSG_MAX];
  outcome_code code = outcome_from_status(err->status);
  switch (err->status) {
    case WASM_TIMEOUT:
      return run_fail(code, "execution exceeded the time limit of %g s", opt->timeout_s);
    case WASM_GAS_EXHAUSTED:
      return run_fail(code, "execution used up its gas limit of %llu", (unsigned long long)opt->gas);
    case WASM_MEMORY_EXCEEDED:
      return run_fail(code, "%s (limit %u MiB)", outcome_describe(err, msg, sizeof msg), opt->memory_mb);
    default:
      return run_fail(code, "%s", outcome_describe(err, msg, sizeof msg));
  }
}

/* Instantiates and calls under the watchdog; prints the results or the failure line. */
static int run_execute(const run_options *opt, const wasm_module *module, const wasm_functype_view *type,
                       const wasm_value *args, run_stats *stats) {
  int rc = CLI_EXIT_FAILURE;
  wasm_error err = {0};
  wasm_store *store = NULL;
  wasm_watchdog *watchdog = NULL;
  wasm_value *results = NULL;
  uint64_t ticket = 0;

  wasm_store_limits limits;
  wasm_store_limits_default(&limits);
  limits.gas_limit = opt->gas;
  limits.max_memory_pages = opt->memory_mb * (1024u * 1024u / WASM_PAGE_SIZE);

  results = calloc(type->result_count ? type->result_count : 1, sizeof *results);
  if (!results) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "out of memory");
    goto done;
  }
  store = wasm_store_new(&limits, &err);
  if (!store) {
    rc = run_engine_fail(opt, &err);
    goto done;
  }
  watchdog = wasm_watchdog_new(&err);
  if (!watchdog) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "cannot start the watchdog: %s",
                  outcome_describe(&err, (char[RUN_MSG_MAX]){0}, RUN_MSG_MAX));
    goto done;
  }

  /* The start function runs inside wasm_instance_new: the limit covers it too. */
  uint64_t t0 = run_now_ns();
  ticket = wasm_watchdog_arm(watchdog, store, opt->timeout_ns);
  if (ticket == 0) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "cannot arm the watchdog");
    goto done;
  }
  wasm_status status = WASM_OK;
  wasm_instance *instance = wasm_instance_new(store, module, NULL, 0, &err);
  if (!instance) {
    status = err.status;
  } else {
    wasm_extern ext;
    if (!wasm_instance_export(instance, opt->invoke, strlen(opt->invoke), &ext) ||
        ext.kind != WASM_EXTERN_FUNC) {
      err = (wasm_error){.status = WASM_NOT_FOUND};
      snprintf(err.message, sizeof err.message, "no exported function '%.64s'", opt->invoke);
      status = WASM_NOT_FOUND;
    } else {
      status = wasm_func_call(store, ext.of.func, args, type->param_count, results, type->result_count, &err);
    }
  }
  wasm_watchdog_disarm(watchdog, ticket);
  ticket = 0;
  stats->exec_ns = run_now_ns() - t0;
  wasm_store_get_stats(store, &stats->store);

  if (status != WASM_OK) {
    if (err.status == WASM_OK) err.status = status; /* an engine that forgot to fill err */
    rc = run_engine_fail(opt, &err);
    goto done;
  }
  for (uint32_t k = 0; k < type->result_count; k++) {
    char text[VALTEXT_FORMAT_MAX];
    valtext_format(&results[k], text, sizeof text);
    printf("%s\n", text);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "cannot write the results");
    goto done;
  }
  rc = CLI_EXIT_OK;

done:
  if (ticket) wasm_watchdog_disarm(watchdog, ticket);
  if (watchdog) wasm_watchdog_free(watchdog);
  if (store) wasm_store_free(store);
  free(results);
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
  wasm_module *module = NULL;
  wasm_value *args = NULL;
  char why[256];
  size_t size = 0;
  uint8_t *bytes = cli_read_file(opt.file, CLI_FILE_MAX, &size, why, sizeof why);
  if (!bytes) {
    fprintf(stderr, "hypervisor run: cannot read '%s': %s\n", opt.file, why);
    return CLI_EXIT_FAILURE;
  }

  wasm_error err = {0};
  uint64_t t0 = run_now_ns();
  module = wasm_module_load(bytes, size, &err);
  stats.load_ns = run_now_ns() - t0;
  free(bytes);
  if (!module) {
    rc = run_engine_fail(&opt, &err);
    goto done;
  }

  char msg[RUN_MSG_MAX];
  if (!outcome_sandbox_check(module, msg, sizeof msg)) {
    rc = run_fail(OUTCOME_INVALID_WASM, "%s", msg);
    goto done;
  }
  wasm_functype_view type;
  if (!wasm_module_find_func_export(module, opt.invoke, strlen(opt.invoke), &type)) {
    rc = run_fail(OUTCOME_FUNCTION_NOT_FOUND, "no exported function '%.64s'", opt.invoke);
    goto done;
  }
  args = calloc(type.param_count ? type.param_count : 1, sizeof *args);
  if (!args) {
    rc = run_fail(OUTCOME_INTERNAL_ERROR, "out of memory");
    goto done;
  }
  rc = run_convert_args(&opt, &type, args);
  if (rc != 0) goto done;
  rc = run_execute(&opt, module, &type, args, &stats);

done:
  if (opt.stats) run_print_stats(&stats);
  free(args);
  if (module) wasm_module_free(module);
  return rc;
}
