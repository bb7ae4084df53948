/*
 * tlog_bench.c: what the transparency log adds to an audit round, without the HTTP load's noise.
 * One SQLite store in a temporary directory, or with --postgres the PostgreSQL database of that
 * connection string (records with fresh request_ids are added to it; scripts/pg-temp.sh run gives
 * a throw-away one); rounds of B records (as the audit writer makes them),
 * alternately through hv_audit_put_batch (no log) and hv_audit_log_put_batch (records, leaves,
 * subtrees and every record's inclusion proof in one transaction), plus one checkpoint signature
 * per logged round, as the server does. Prints the median time per round of each and their ratio.
 *
 *   hv_tlog_bench [--rounds N] [--batch B] [--postgres DSN]    defaults: 200 rounds of each, 64
 *                                                              records, SQLite
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv_audit.h"
#include "hv_tlog.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static const char SUMMARY[] =
    "{\"status\":\"success\",\"execution_time_ms\":0.012,\"compile_time_ms\":0.0,\"gas_used\":4,"
    "\"gas_limit\":10000000000,\"memory_peak_bytes\":65536,\"timeout_ms\":10000,"
    "\"module_cached\":true}";

int main(int argc, char **argv) {
  unsigned rounds = 200, batch = 64;
  const char *dsn = NULL;
  bool usage = argc % 2 == 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rounds") == 0) rounds = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--batch") == 0) batch = (unsigned)strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--postgres") == 0) dsn = argv[i + 1];
    else usage = true;
  }
  if (usage || rounds == 0 || batch == 0 || batch > HV_AUDIT_BATCH_MAX) {
    fprintf(stderr, "usage: hv_tlog_bench [--rounds N] [--batch 1..%u] [--postgres DSN]\n",
            HV_AUDIT_BATCH_MAX);
    return 2;
  }
  char dir[] = "/tmp/hv-tlog-bench-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  char path[128];
  snprintf(path, sizeof path, "%s/audit.db", dir);
  hv_audit_store *s = NULL;
  hv_audit_error err;
  const hv_audit_backend *backend = dsn ? &hv_audit_postgres_backend : &hv_audit_sqlite_backend;
  if (hv_audit_open(backend, dsn ? dsn : path, NULL, &s, &err) != HV_AUDIT_OK) {
    fprintf(stderr, "%s\n", err.message);
    return 1;
  }
  uint8_t seed[32] = {7};
  hv_tlog_signer signer;
  hv_tlog_signer_init(&signer, "bench.example/log", seed);
  hv_audit_record *recs = calloc(batch, sizeof *recs);
  const hv_audit_record **ptrs = calloc(batch, sizeof *ptrs);
  hv_audit_status *st = calloc(batch, sizeof *st);
  hv_audit_log_receipt *receipts = calloc(batch, sizeof *receipts);
  double *plain = calloc(rounds, sizeof *plain), *logged = calloc(rounds, sizeof *logged);
  if (!recs || !ptrs || !st || !receipts || !plain || !logged) return 1;
  /* Request ids of this run only (a database may hold an earlier run's). */
  unsigned long long n = 0, run = (unsigned long long)(hv_audit_now_ms() & 0xffffffff);
  for (unsigned r = 0; r < 2 * rounds; r++) {
    for (unsigned i = 0; i < batch; i++, n++) {
      hv_audit_record *x = &recs[i];
      memset(x, 0, sizeof *x);
      snprintf(x->request_id, sizeof x->request_id, "%08llx-0000-4000-8000-%012llx", run, n);
      x->recorded_at_ms = hv_audit_now_ms();
      snprintf(x->api_key_id, sizeof x->api_key_id, "bench");
      snprintf(x->key_id, sizeof x->key_id, "0123456789abcdef");
      snprintf(x->result_commitment, sizeof x->result_commitment, "%064llx", n);
      snprintf(x->program_commitment, sizeof x->program_commitment, "%064llx", n + 1);
      snprintf(x->arguments_commitment, sizeof x->arguments_commitment, "%064llx", n + 2);
      snprintf(x->status, sizeof x->status, "success");
      x->execution_summary = (char *)SUMMARY;
      ptrs[i] = x;
    }
    double t0 = now_us();
    hv_audit_status rc;
    if (r % 2 == 0) {
      rc = hv_audit_put_batch(s, ptrs, batch, st, &err);
    } else {
      uint64_t size = 0;
      uint8_t root[32];
      char note[HV_TLOG_NOTE_MAX];
      rc = hv_audit_log_put_batch(s, ptrs, batch, st, receipts, &size, root, &err);
      if (rc == HV_AUDIT_OK && hv_tlog_checkpoint_sign(&signer, size, root, note, NULL) != HV_TLOG_OK)
        rc = HV_AUDIT_INTERNAL;
    }
    double t = now_us() - t0;
    if (rc != HV_AUDIT_OK) {
      fprintf(stderr, "round %u: %s\n", r, err.message);
      return 1;
    }
    (r % 2 == 0 ? plain : logged)[r / 2] = t;
  }
  uint64_t size = 0;
  uint8_t root[32];
  hv_audit_log_head(s, &size, root, NULL);
  qsort(plain, rounds, sizeof *plain, cmp);
  qsort(logged, rounds, sizeof *logged, cmp);
  double mp = plain[rounds / 2], ml = logged[rounds / 2];
  printf("%s: rounds of %u records, %u of each, alternating; the log ended at %llu leaves\n",
         backend->name, batch, rounds, (unsigned long long)size);
  printf("  without the log: median %.0f us per round (%.1f us per record)\n", mp, mp / batch);
  printf("  with the log:    median %.0f us per round (%.1f us per record), incl. proofs and 1 signature\n",
         ml, ml / batch);
  printf("  ratio with / without: %.2f\n", ml / mp);
  hv_tlog_signer_wipe(&signer);
  hv_audit_close(s);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) return 1;
  free(recs);
  free(ptrs);
  free(st);
  free(receipts);
  free(plain);
  free(logged);
  return 0;
}
