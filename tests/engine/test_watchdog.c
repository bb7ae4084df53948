/*
 * test_watchdog.c: the single timeout thread (src/engine/watchdog.c). No timing assertions: a test
 * only checks that an interrupt happened (waiting as long as it takes, with a generous safety bound)
 * or that it did not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "runtime_int.h"
#include "wasm_builder.h"
#include "wasm_engine.h"

static bool interrupted(hvw_store *s) { return atomic_load(&s->interrupt) != 0; }

/* Polls until the store is interrupted; false if that has not happened after a minute. */
static bool wait_for_interrupt(hvw_store *s) {
  struct timespec pause = {0, 1000000}; /* 1 ms */
  for (int i = 0; i < 60000; i++) {
    if (interrupted(s)) return true;
    nanosleep(&pause, NULL);
  }
  return interrupted(s);
}

static void test_arm_then_disarm_never_interrupts(void **state) {
  (void)state;
  hvw_error err;
  hvw_watchdog *wd = hvw_watchdog_new(&err);
  assert_non_null(wd);
  hvw_store *s = hvw_store_new(NULL, &err);
  uint64_t ticket = hvw_watchdog_arm(wd, s, 3600ull * 1000000000ull);
  assert_int_not_equal(ticket, 0);
  hvw_watchdog_disarm(wd, ticket);
  hvw_watchdog_disarm(wd, ticket); /* twice is harmless */
  hvw_watchdog_disarm(wd, 0);
  /* a zero timeout disarmed at once may have fired already; what counts is that after disarm the
   * watchdog leaves the store alone: clear the flag and make sure it stays clear */
  ticket = hvw_watchdog_arm(wd, s, 0);
  hvw_watchdog_disarm(wd, ticket);
  hvw_store_clear_interrupt(s);
  hvw_watchdog_free(wd); /* joins the thread: nothing can still be pending */
  assert_false(interrupted(s));
  hvw_store_free(s);
}

static void test_short_timeout_interrupts(void **state) {
  (void)state;
  hvw_error err;
  hvw_watchdog *wd = hvw_watchdog_new(&err);
  hvw_store *s = hvw_store_new(NULL, &err);
  uint64_t ticket = hvw_watchdog_arm(wd, s, 1000000); /* 1 ms */
  assert_int_not_equal(ticket, 0);
  assert_true(wait_for_interrupt(s));
  hvw_watchdog_disarm(wd, ticket); /* after expiry: harmless */
  hvw_watchdog_free(wd);
  hvw_store_free(s);
}

/* Deadlines are per store: the expired one is interrupted, the others are not. A later, earlier
 * deadline must wake the thread that sleeps until a distant one. */
static void test_only_expired_store_interrupted(void **state) {
  (void)state;
  hvw_error err;
  hvw_watchdog *wd = hvw_watchdog_new(&err);
  hvw_store *far = hvw_store_new(NULL, &err), *near = hvw_store_new(NULL, &err), *gone = hvw_store_new(NULL, &err);
  uint64_t t_far = hvw_watchdog_arm(wd, far, 3600ull * 1000000000ull);
  uint64_t t_gone = hvw_watchdog_arm(wd, gone, 2000000);
  hvw_watchdog_disarm(wd, t_gone);
  uint64_t t_near = hvw_watchdog_arm(wd, near, 2000000);
  assert_true(wait_for_interrupt(near));
  assert_false(interrupted(far));
  assert_false(interrupted(gone));
  hvw_watchdog_disarm(wd, t_far);
  hvw_watchdog_disarm(wd, t_near);
  hvw_watchdog_free(wd);
  assert_false(interrupted(far));
  hvw_store_free(far);
  hvw_store_free(near);
  hvw_store_free(gone);
}

static void test_many_tickets(void **state) {
  (void)state;
  hvw_error err;
  hvw_watchdog *wd = hvw_watchdog_new(&err);
  hvw_store *s = hvw_store_new(NULL, &err), *last = hvw_store_new(NULL, &err);
  uint64_t tickets[100];
  for (int i = 0; i < 100; i++) tickets[i] = hvw_watchdog_arm(wd, s, (uint64_t)(100 + i) * 1000000000ull);
  for (int i = 0; i < 100; i += 2) hvw_watchdog_disarm(wd, tickets[i]);
  for (int i = 1; i < 100; i += 2) hvw_watchdog_disarm(wd, tickets[i]);
  uint64_t t = hvw_watchdog_arm(wd, last, 1000);
  assert_true(wait_for_interrupt(last));
  assert_false(interrupted(s));
  hvw_watchdog_disarm(wd, t);
  hvw_watchdog_free(wd);
  hvw_store_free(s);
  hvw_store_free(last);
}

/* End to end: an endless loop stops with HVW_TIMEOUT (runs the interpreter). */
static void test_watchdog_stops_endless_loop(void **state) {
  (void)state;
  wbuf w = {0};
  wb_header(&w);
  WB_SECTION(&w, SEC_TYPE, 0x01, 0x60, 0x00, 0x00);
  WB_SECTION(&w, SEC_FUNCTION, 0x01, 0x00);
  WB_SECTION(&w, SEC_EXPORT, 0x01, 0x04, 'l', 'o', 'o', 'p', 0x00, 0x00);
  WB_SECTION(&w, SEC_CODE, 0x01, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b); /* loop br 0 end */
  hvw_error err;
  hvw_module *m = hvw_module_load(w.b, w.n, &err);
  if (!m) fail_msg("load: %s", err.message);
  hvw_store_limits limits;
  hvw_store_limits_default(&limits);
  limits.gas_limit = UINT64_MAX;
  hvw_store *s = hvw_store_new(&limits, &err);
  hvw_instance *inst = hvw_instance_new(s, m, NULL, 0, &err);
  assert_non_null(inst);
  hvw_extern f;
  assert_true(hvw_instance_export(inst, "loop", 4, &f));
  hvw_watchdog *wd = hvw_watchdog_new(&err);
  uint64_t ticket = hvw_watchdog_arm(wd, s, 10000000); /* 10 ms */
  assert_int_equal(hvw_func_call(s, f.of.func, NULL, 0, NULL, 0, &err), HVW_TIMEOUT);
  hvw_watchdog_disarm(wd, ticket);
  hvw_watchdog_free(wd);
  hvw_store_free(s);
  hvw_module_free(m);
  wb_free(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arm_then_disarm_never_interrupts),
      cmocka_unit_test(test_short_timeout_interrupts),
      cmocka_unit_test(test_only_expired_store_interrupted),
      cmocka_unit_test(test_many_tickets),
      cmocka_unit_test(test_watchdog_stops_endless_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
