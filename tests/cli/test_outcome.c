/* test_outcome.c: protocol error codes and the engine-status mapping of src/exec/outcome.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "outcome.h"

static void test_codes_and_http(void **state) {
  assert_string_equal(outcome_code_name(OUTCOME_INVALID_WASM), "INVALID_WASM");
  assert_string_equal(outcome_code_name(OUTCOME_EXECUTION_TIMEOUT), "EXECUTION_TIMEOUT");
  assert_string_equal(outcome_code_name((outcome_code)999), "INTERNAL_ERROR");
  assert_int_equal(outcome_http_status(OUTCOME_INVALID_ARGUMENTS), 400);
  assert_int_equal(outcome_http_status(OUTCOME_UNAUTHORIZED), 401);
  assert_int_equal(outcome_http_status(OUTCOME_PAYLOAD_TOO_LARGE), 413);
  assert_int_equal(outcome_http_status(OUTCOME_GAS_EXHAUSTED), 422);
  assert_int_equal(outcome_http_status(OUTCOME_RATE_LIMITED), 429);
  assert_int_equal(outcome_http_status(OUTCOME_CAPACITY_EXCEEDED), 503);
  assert_int_equal(outcome_http_status(OUTCOME_INTERNAL_ERROR), 500);
}

static void test_status_mapping(void **state) {
  static const struct {
    hvw_status status;
    outcome_code code;
  } map[] = {
      {HVW_OK, OUTCOME_OK},
      {HVW_MALFORMED, OUTCOME_INVALID_WASM},
      {HVW_INVALID, OUTCOME_INVALID_WASM},
      {HVW_IMPL_LIMIT, OUTCOME_INVALID_WASM},
      {HVW_UNLINKABLE, OUTCOME_INVALID_WASM},
      {HVW_TRAP, OUTCOME_EXECUTION_TRAP},
      {HVW_TIMEOUT, OUTCOME_EXECUTION_TIMEOUT},
      {HVW_GAS_EXHAUSTED, OUTCOME_GAS_EXHAUSTED},
      {HVW_MEMORY_EXCEEDED, OUTCOME_MEMORY_EXCEEDED},
      {HVW_NOT_FOUND, OUTCOME_FUNCTION_NOT_FOUND},
      {HVW_BAD_ARGUMENTS, OUTCOME_INVALID_ARGUMENTS},
      {HVW_OUT_OF_HOST_MEMORY, OUTCOME_INTERNAL_ERROR},
      {(hvw_status)999, OUTCOME_INTERNAL_ERROR},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    assert_int_equal(outcome_from_status(map[i].status), map[i].code);
}

static void test_cabi_mapping(void **state) {
  static const struct {
    hv_cabi_status status;
    outcome_code code;
  } map[] = {
      {HV_CABI_OK, OUTCOME_OK},
      {HV_CABI_SIGNATURE_MISMATCH, OUTCOME_INVALID_ARGUMENTS},
      {HV_CABI_NO_REALLOC, OUTCOME_INVALID_ARGUMENTS},
      {HV_CABI_BAD_POINTER, OUTCOME_EXECUTION_TRAP},
      {HV_CABI_MISALIGNED, OUTCOME_EXECUTION_TRAP},
      {HV_CABI_BAD_UTF8, OUTCOME_EXECUTION_TRAP},
      {HV_CABI_RESULT_TOO_LARGE, OUTCOME_EXECUTION_TRAP},
      {HV_CABI_HOST_MEMORY, OUTCOME_INTERNAL_ERROR},
      {(hv_cabi_status)999, OUTCOME_INTERNAL_ERROR},
  };
  hvw_error ok = {.status = HVW_OK};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    assert_int_equal(outcome_from_cabi(map[i].status, &ok), map[i].code);
  /* HV_CABI_ENGINE: whatever the engine said */
  static const hvw_status engine[] = {HVW_TRAP, HVW_TIMEOUT, HVW_GAS_EXHAUSTED, HVW_MEMORY_EXCEEDED,
                                       HVW_NOT_FOUND, HVW_OUT_OF_HOST_MEMORY};
  for (size_t i = 0; i < sizeof engine / sizeof engine[0]; i++) {
    hvw_error err = {.status = engine[i]};
    assert_int_equal(outcome_from_cabi(HV_CABI_ENGINE, &err), outcome_from_status(engine[i]));
  }
  assert_int_equal(outcome_from_cabi(HV_CABI_ENGINE, NULL), OUTCOME_INTERNAL_ERROR);
}

static void test_describe_trap(void **state) {
  char buf[300];
  hvw_error err = {.status = HVW_TRAP, .trap = HVW_TRAP_INT_DIV_ZERO};
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "integer divide by zero");
  strcpy(err.message, "integer divide by zero");
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "integer divide by zero");
  strcpy(err.message, "integer divide by zero in function 3");
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "integer divide by zero in function 3");
  strcpy(err.message, "at function 3");
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "integer divide by zero (at function 3)");
  err = (hvw_error){.status = HVW_TRAP, .trap = HVW_TRAP_CALL_STACK_EXHAUSTED};
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "call stack exhausted");
}

static void test_describe_other(void **state) {
  char buf[300];
  hvw_error err = {.status = HVW_MALFORMED};
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "malformed module");
  strcpy(err.message, "section 3: unexpected end at offset 0x1c");
  assert_string_equal(outcome_describe(&err, buf, sizeof buf), "section 3: unexpected end at offset 0x1c");
  /* An unterminated engine message is cut at the array's end, never read past it. */
  memset(err.message, 'x', sizeof err.message);
  outcome_describe(&err, buf, sizeof buf);
  assert_int_equal(strlen(buf), HVW_ERROR_MESSAGE_MAX);
  char small[8];
  outcome_describe(&err, small, sizeof small);
  assert_int_equal(strlen(small), 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codes_and_http),
      cmocka_unit_test(test_status_mapping),
      cmocka_unit_test(test_cabi_mapping),
      cmocka_unit_test(test_describe_trap),
      cmocka_unit_test(test_describe_other),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
