/*
 * test_argtext.c: command-line arguments as protocol values (src/cli/argtext.h): the forms s:,
 * b64:, @FILE and numbers, who owns what, and the walk over the export's core parameters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "argtext.h"

static char why[256];

static void test_forms(void **state) {
  assert_int_equal(cli_value_form("s:x"), HV_TYPE_STRING);
  assert_int_equal(cli_value_form("s:"), HV_TYPE_STRING);
  assert_int_equal(cli_value_form("b64:AA"), HV_TYPE_BYTES);
  assert_int_equal(cli_value_form("@f"), HV_TYPE_BYTES);
  assert_int_equal(cli_value_form("12"), 0);
  assert_int_equal(cli_value_form("-5"), 0);
  assert_int_equal(cli_value_form("S:x"), 0); /* prefixes are lowercase */
  assert_int_equal(cli_value_form("b64"), 0);
  assert_int_equal(cli_value_form(""), 0);
}

static void test_string(void **state) {
  hv_value v;
  uint8_t *owned = (uint8_t *)1;
  const char *text = "s:h\xC3\xA9";
  assert_int_equal(cli_value_parse(text, HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(v.type, HV_TYPE_STRING);
  assert_int_equal(v.len, 3);
  assert_ptr_equal(v.data, text + 2); /* into the text: nothing to free */
  assert_null(owned);
  assert_string_equal(why, "");

  hv_value untouched = {.type = 0x55};
  v = untouched;
  owned = (uint8_t *)1;
  assert_int_equal(cli_value_parse("s:\xED\xA0\x80", HVW_TYPE_I32, &v, &owned, why, sizeof why),
                   CLI_VALUE_BAD_UTF8);
  assert_int_equal(v.type, 0x55);
  assert_ptr_equal(owned, (uint8_t *)1);
  assert_string_equal(why, "the text after s: is not valid UTF-8");
}

static void test_base64(void **state) {
  hv_value v;
  uint8_t *owned = NULL;
  assert_int_equal(cli_value_parse("b64:AAEC_w", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(v.type, HV_TYPE_BYTES);
  assert_int_equal(v.len, 4);
  assert_ptr_equal(v.data, owned);
  assert_memory_equal(v.data, "\x00\x01\x02\xff", 4);
  free(owned);
  assert_int_equal(cli_value_parse("b64:", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(v.len, 0);
  free(owned);
  assert_int_equal(cli_value_parse("b64:A===", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_BAD_BASE64);
  assert_int_equal(strncmp(why, "not valid base64: ", 18), 0);
  assert_int_equal(cli_value_parse("b64:+-AA", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_BAD_BASE64);
}

static void test_file(void **state) {
  char path[] = "/tmp/hv_argtext_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "a\0b", 3), 3);
  close(fd);
  char text[64];
  snprintf(text, sizeof text, "@%s", path);
  hv_value v;
  uint8_t *owned = NULL;
  assert_int_equal(cli_value_parse(text, HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(v.type, HV_TYPE_BYTES);
  assert_int_equal(v.len, 3);
  assert_ptr_equal(v.data, owned);
  assert_memory_equal(v.data, "a\0b", 3);
  free(owned);
  unlink(path);
  assert_int_equal(cli_value_parse(text, HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_FILE);
  assert_non_null(strstr(why, "No such file or directory"));
  assert_int_equal(cli_value_parse("@", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_FILE);
  assert_string_equal(why, "no file name after @");
}

static void test_numbers(void **state) {
  hv_value v;
  uint8_t *owned = (uint8_t *)1;
  assert_int_equal(cli_value_parse("-7", HVW_TYPE_I64, &v, &owned, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(v.type, HVW_TYPE_I64);
  assert_int_equal(v.num.type, HVW_TYPE_I64);
  assert_int_equal(v.num.of.i64, -7);
  assert_null(owned);
  assert_int_equal(cli_value_parse("1.5", HVW_TYPE_I32, &v, &owned, why, sizeof why), CLI_VALUE_BAD_NUMBER);
  assert_string_equal(why, "not a valid i32: not a number of the expected form");
  assert_int_equal(cli_value_parse("null", HVW_TYPE_FUNCREF, &v, &owned, why, sizeof why), CLI_VALUE_BAD_NUMBER);
}

static void test_walk(void **state) {
  static const hvw_valtype params[] = {HVW_TYPE_I32, HVW_TYPE_I32, HVW_TYPE_F64, HVW_TYPE_I32, HVW_TYPE_I32};
  hvw_functype_view core = {.param_count = 5, .params = params};
  char *texts[] = {"s:ab", "2.5", "b64:AAAA"};
  cli_values vals;
  size_t bad = 99;
  assert_int_equal(cli_values_parse(texts, 3, &core, &vals, &bad, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(vals.count, 3);
  assert_int_equal(vals.flat_count, 5);
  assert_int_equal(vals.values[0].type, HV_TYPE_STRING);
  assert_int_equal(vals.values[1].type, HVW_TYPE_F64); /* typed by core parameter 3 */
  assert_int_equal(vals.values[1].num.of.f64_bits, 0x4004000000000000ull);
  assert_int_equal(vals.values[2].type, HV_TYPE_BYTES);
  assert_int_equal(vals.values[2].len, 3);
  assert_null(vals.owned[0]);
  assert_null(vals.owned[1]);
  assert_ptr_equal(vals.owned[2], vals.values[2].data);
  cli_values_free(&vals);
  assert_null(vals.values);
  cli_values_free(&vals); /* safe when empty */

  /* counts, before anything is read */
  char *too_many[] = {"s:ab", "2.5", "b64:AAAA", "@/nonexistent"};
  assert_int_equal(cli_values_parse(too_many, 4, &core, &vals, &bad, why, sizeof why), CLI_VALUE_COUNT);
  assert_int_equal(bad, 4);
  assert_int_equal(vals.flat_count, 7);
  assert_null(vals.values);
  char *too_few[] = {"1", "2", "3"};
  assert_int_equal(cli_values_parse(too_few, 3, &core, &vals, &bad, why, sizeof why), CLI_VALUE_COUNT);
  assert_int_equal(vals.flat_count, 3);

  /* a failure names its argument and frees what the earlier ones held */
  char *bad_third[] = {"b64:AAAA", "x", "s:ab"};
  assert_int_equal(cli_values_parse(bad_third, 3, &core, &vals, &bad, why, sizeof why), CLI_VALUE_BAD_NUMBER);
  assert_int_equal(bad, 1);
  assert_string_equal(why, "not a valid f64: not a number of the expected form");
  assert_null(vals.values);
  assert_null(vals.owned);
  assert_int_equal(vals.count, 0);

  hvw_functype_view none = {0};
  assert_int_equal(cli_values_parse(NULL, 0, &none, &vals, &bad, why, sizeof why), CLI_VALUE_OK);
  assert_int_equal(vals.count, 0);
  cli_values_free(&vals);
}

static void test_messages(void **state) {
  assert_string_equal(cli_value_status_message(CLI_VALUE_OK), "ok");
  assert_string_equal(cli_value_status_message(CLI_VALUE_NO_MEMORY), "out of memory");
  assert_string_equal(cli_value_status_message((cli_value_status)999), "unknown status");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forms),   cmocka_unit_test(test_string), cmocka_unit_test(test_base64),
      cmocka_unit_test(test_file),    cmocka_unit_test(test_numbers), cmocka_unit_test(test_walk),
      cmocka_unit_test(test_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
