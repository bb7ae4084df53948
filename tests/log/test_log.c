/*
 * test_log.c: hv_log. Every line is parsed back with jansson; the assertions are on the parsed
 * objects, so a line that is not valid JSON, or that carries a forged field, fails the test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hv_log.h"

/* ---- Helpers --------------------------------------------------------------------------------- */

typedef struct sink {
  char dir[64];
  char path[128];
  int fd;
} sink;

static void sink_open(sink *s) {
  snprintf(s->dir, sizeof s->dir, "/tmp/hv_log_test.XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  snprintf(s->path, sizeof s->path, "%s/out.log", s->dir);
  s->fd = open(s->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  assert_true(s->fd >= 0);
}

static void sink_close(sink *s) {
  if (s->fd >= 0) close(s->fd);
  unlink(s->path);
  rmdir(s->dir);
}

/* The whole file as a NUL-terminated string (caller frees). */
static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  assert_non_null(buf);
  for (;;) {
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (n < cap) break;
    cap *= 2;
    buf = realloc(buf, cap + 1);
    assert_non_null(buf);
  }
  fclose(f);
  buf[n] = '\0';
  if (len != NULL) *len = n;
  return buf;
}

/* Splits the text into lines (each must end in '\n') and parses each; returns the count. */
static size_t parse_lines(const char *text, json_t **out, size_t max) {
  size_t count = 0;
  const char *p = text;
  while (*p != '\0') {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl); /* every line is terminated */
    assert_true(count < max);
    json_error_t jerr;
    json_t *j = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) fail_msg("line %zu is not JSON (%s): %.*s", count, jerr.text, (int)(nl - p), p);
    assert_true(json_is_object(j));
    out[count++] = j;
    p = nl + 1;
  }
  return count;
}

static void free_lines(json_t **lines, size_t n) {
  for (size_t i = 0; i < n; i++) json_decref(lines[i]);
}

static hv_logger *open_fd(int fd, hv_log_level level) {
  hv_log_options opt = {.level = level, .file = NULL, .fd = fd};
  hv_logger *lg = NULL;
  hv_log_error err;
  assert_int_equal(hv_log_open(&opt, &lg, &err), HV_LOG_OK);
  assert_non_null(lg);
  return lg;
}

static const char *str_field(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  if (v == NULL || !json_is_string(v)) fail_msg("field %s missing or not a string", key);
  return json_string_value(v);
}

/* True if s is exactly YYYY-MM-DDTHH:MM:SS.mmmZ. */
static bool is_rfc3339_ms(const char *s) {
  const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (strlen(s) != strlen(pat)) return false;
  for (size_t i = 0; pat[i] != '\0'; i++) {
    if (pat[i] == 'd') {
      if (s[i] < '0' || s[i] > '9') return false;
    } else if (s[i] != pat[i]) {
      return false;
    }
  }
  return true;
}

static int setup(void **state) {
  unsetenv(HV_LOG_ENV);
  (void)state;
  return 0;
}

/* ---- Tests ----------------------------------------------------------------------------------- */

static void test_line_has_header_and_typed_fields(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_INFO, "request.done", 0,
         HV_LOG_STR("request_id", "6f1c2f1e-0000-4000-8000-000000000001"),
         HV_LOG_INT("status", -42), HV_LOG_UINT("bytes", 12345), HV_LOG_DOUBLE("ms", 1.5),
         HV_LOG_BOOL("cached", true), HV_LOG_STR("nothing", NULL));
  hv_log_close(lg);

  char *text = read_all(s.path, NULL);
  /* The header comes first and in this order, as the header comment promises. */
  assert_memory_equal(text, "{\"time\":\"", 9);
  assert_non_null(strstr(text, "Z\",\"level\":\"info\",\"event\":\"request.done\",\"request_id\""));
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 1);
  json_t *o = lines[0];
  assert_true(is_rfc3339_ms(str_field(o, "time")));
  assert_string_equal(str_field(o, "level"), "info");
  assert_string_equal(str_field(o, "event"), "request.done");
  assert_string_equal(str_field(o, "request_id"), "6f1c2f1e-0000-4000-8000-000000000001");
  assert_int_equal(json_integer_value(json_object_get(o, "status")), -42);
  assert_int_equal(json_integer_value(json_object_get(o, "bytes")), 12345);
  assert_true(json_real_value(json_object_get(o, "ms")) == 1.5);
  assert_true(json_is_true(json_object_get(o, "cached")));
  assert_true(json_is_null(json_object_get(o, "nothing")));
  assert_null(json_object_get(o, "security"));
  free_lines(lines, 1);
  free(text);

  /* Full-range integers are plain JSON numbers (jansson cannot hold UINT64_MAX: check the text). */
  assert_int_equal(ftruncate(s.fd, 0), 0);
  assert_int_equal(lseek(s.fd, 0, SEEK_SET), 0);
  lg = open_fd(s.fd, HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_INFO, "n", 0, HV_LOG_UINT("u", UINT64_MAX), HV_LOG_INT("i", INT64_MIN));
  hv_log_close(lg);
  text = read_all(s.path, NULL);
  assert_non_null(strstr(text, ",\"u\":18446744073709551615,\"i\":-9223372036854775808}\n"));
  free(text);
  sink_close(&s);
}

static void test_security_flag_marks_the_line(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_INFO);
  HV_LOG(lg, HV_LOG_WARN, "auth.rejected", HV_LOG_SECURITY, HV_LOG_STR("api_key_id", "dev"));
  hv_log_event(lg, HV_LOG_INFO, "server.started", 0, NULL, 0);
  hv_log_close(lg);
  char *text = read_all(s.path, NULL);
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 2);
  assert_true(json_is_true(json_object_get(lines[0], "security")));
  assert_string_equal(str_field(lines[0], "level"), "warn");
  assert_null(json_object_get(lines[1], "security"));
  assert_string_equal(str_field(lines[1], "event"), "server.started");
  free_lines(lines, 2);
  free(text);
  sink_close(&s);
}

static void test_level_filtering(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_WARN);
  assert_int_equal(hv_log_get_level(lg), HV_LOG_WARN);
  assert_false(hv_log_enabled(lg, HV_LOG_DEBUG));
  assert_false(hv_log_enabled(lg, HV_LOG_INFO));
  assert_true(hv_log_enabled(lg, HV_LOG_WARN));
  assert_true(hv_log_enabled(lg, HV_LOG_ERROR));
  const hv_log_level all[] = {HV_LOG_DEBUG, HV_LOG_INFO, HV_LOG_WARN, HV_LOG_ERROR};
  for (size_t i = 0; i < 4; i++)
    HV_LOG(lg, all[i], "e", 0, HV_LOG_STR("which", hv_log_level_name(all[i])));
  hv_log_close(lg);
  char *text = read_all(s.path, NULL);
  json_t *lines[8];
  assert_int_equal(parse_lines(text, lines, 8), 2);
  assert_string_equal(str_field(lines[0], "level"), "warn");
  assert_string_equal(str_field(lines[1], "level"), "error");
  free_lines(lines, 2);
  free(text);
  sink_close(&s);
}

static void test_env_overrides_level(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  setenv(HV_LOG_ENV, "debug", 1);
  hv_logger *lg = open_fd(s.fd, HV_LOG_ERROR);
  assert_int_equal(hv_log_get_level(lg), HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_DEBUG, "dbg", 0, HV_LOG_INT("n", 1));
  hv_log_close(lg);

  setenv(HV_LOG_ENV, "ERROR", 1); /* case-insensitive */
  lg = open_fd(s.fd, HV_LOG_DEBUG);
  assert_int_equal(hv_log_get_level(lg), HV_LOG_ERROR);
  HV_LOG(lg, HV_LOG_WARN, "dropped", 0, HV_LOG_INT("n", 2));
  hv_log_close(lg);

  setenv(HV_LOG_ENV, "", 1); /* empty: the configured level stands */
  lg = open_fd(s.fd, HV_LOG_INFO);
  assert_int_equal(hv_log_get_level(lg), HV_LOG_INFO);
  hv_log_close(lg);

  setenv(HV_LOG_ENV, "verbose", 1);
  hv_log_options opt = {.level = HV_LOG_INFO, .fd = s.fd};
  hv_log_error err;
  lg = (hv_logger *)&err; /* must be reset to NULL on failure */
  assert_int_equal(hv_log_open(&opt, &lg, &err), HV_LOG_BAD_LEVEL);
  assert_null(lg);
  assert_int_equal(err.status, HV_LOG_BAD_LEVEL);
  assert_non_null(strstr(err.message, "HYPERVISOR_LOG"));
  assert_non_null(strstr(err.message, "verbose"));
  unsetenv(HV_LOG_ENV);

  char *text = read_all(s.path, NULL);
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 1);
  assert_string_equal(str_field(lines[0], "event"), "dbg");
  free_lines(lines, 1);
  free(text);
  sink_close(&s);
}

static void test_hostile_strings_are_escaped(void **state) {
  (void)state;
  /* Valid UTF-8: each must come back byte for byte. */
  static const char *const valid[] = {
      "plain",
      "quote \" backslash \\ slash /",
      "line\nbreak\r\n and tab\t",
      "\x01\x02\x1f\x7f control bytes",
      "\"},\"level\":\"error\",\"x\":{\"", /* field forgery attempt */
      "\"}\n{\"time\":\"1970-01-01T00:00:00.000Z\",\"level\":\"error\",\"event\":\"forged\"}",
      "unicode: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
      "separators \xe2\x80\xa8 and \xe2\x80\xa9",
      "\\u0000 literal escape text",
  };
  /* Invalid UTF-8: each bad byte becomes U+FFFD, the rest stays. */
  static const struct {
    const char *in, *out;
  } invalid[] = {
      {"a\xff"
       "b",
       "a\xef\xbf\xbd"
       "b"},
      {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                                 /* overlong '/' */
      {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},                 /* surrogate */
      {"\xf4\x90\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* > U+10FFFF */
      {"cut \xe2\x82", "cut \xef\xbf\xbd\xef\xbf\xbd"}, /* truncated sequence */
  };
  size_t nvalid = sizeof valid / sizeof valid[0], ninvalid = sizeof invalid / sizeof invalid[0];
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  for (size_t i = 0; i < nvalid; i++)
    HV_LOG(lg, HV_LOG_INFO, valid[i], 0, HV_LOG_STR("v", valid[i]), HV_LOG_STR(valid[i], "as key"));
  for (size_t i = 0; i < ninvalid; i++)
    HV_LOG(lg, HV_LOG_INFO, "bad", 0, HV_LOG_STR("v", invalid[i].in));
  hv_log_close(lg);

  char *text = read_all(s.path, NULL);
  json_t *lines[32];
  assert_int_equal(parse_lines(text, lines, 32), nvalid + ninvalid);
  for (size_t i = 0; i < nvalid; i++) {
    assert_string_equal(str_field(lines[i], "level"), "info"); /* not forged */
    assert_string_equal(str_field(lines[i], "event"), valid[i]);
    assert_string_equal(str_field(lines[i], "v"), valid[i]);
    assert_string_equal(str_field(lines[i], valid[i]), "as key");
    assert_int_equal(json_object_size(lines[i]), 5);
  }
  for (size_t i = 0; i < ninvalid; i++)
    assert_string_equal(str_field(lines[nvalid + i], "v"), invalid[i].out);
  /* Line separators travel escaped, never raw. */
  assert_null(strstr(text, "\xe2\x80\xa8"));
  assert_non_null(strstr(text, "\\u2028"));
  free_lines(lines, nvalid + ninvalid);
  free(text);
  sink_close(&s);
}

static void test_reserved_keys_cannot_shadow_the_header(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_INFO, "real", 0, HV_LOG_STR("level", "error"), HV_LOG_STR("event", "fake"),
         HV_LOG_BOOL("security", true), HV_LOG_STR("time", "x"));
  hv_log_close(lg);
  char *text = read_all(s.path, NULL);
  json_t *lines[2];
  assert_int_equal(parse_lines(text, lines, 2), 1);
  assert_string_equal(str_field(lines[0], "level"), "info");
  assert_string_equal(str_field(lines[0], "event"), "real");
  assert_null(json_object_get(lines[0], "security"));
  assert_string_equal(str_field(lines[0], "field.level"), "error");
  assert_string_equal(str_field(lines[0], "field.event"), "fake");
  assert_true(json_is_true(json_object_get(lines[0], "field.security")));
  free_lines(lines, 1);
  free(text);
  sink_close(&s);
}

static void test_long_values_and_lines_are_bounded(void **state) {
  (void)state;
  char *big = malloc(5001);
  assert_non_null(big);
  memset(big, 'a', 5000);
  big[5000] = '\0';
  char *quotes = malloc(3001); /* every byte doubles when escaped */
  assert_non_null(quotes);
  memset(quotes, '"', 3000);
  quotes[3000] = '\0';
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_INFO, "big", 0, HV_LOG_STR("v", big));
  hv_log_field many[40];
  char keys[40][8];
  for (int i = 0; i < 40; i++) {
    snprintf(keys[i], sizeof keys[i], "k%d", i);
    many[i] = HV_LOG_STR(keys[i], quotes);
  }
  hv_log_event(lg, HV_LOG_INFO, "many", 0, many, 40);
  hv_log_close(lg);

  char *text = read_all(s.path, NULL);
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 2);
  const char *v = str_field(lines[0], "v");
  assert_int_equal(strlen(v), HV_LOG_VALUE_MAX + 3); /* 1024 bytes and the 3-byte ellipsis */
  assert_string_equal(v + HV_LOG_VALUE_MAX, "\xe2\x80\xa6");
  assert_null(json_object_get(lines[0], "truncated"));
  assert_true(json_is_true(json_object_get(lines[1], "truncated")));
  assert_non_null(json_object_get(lines[1], "k0"));
  assert_null(json_object_get(lines[1], "k39"));
  const char *second = strchr(text, '\n') + 1;
  assert_true(strlen(second) <= HV_LOG_LINE_MAX);
  free_lines(lines, 2);
  free(text);
  free(big);
  free(quotes);
  sink_close(&s);
}

static void test_doubles_that_json_cannot_hold(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  HV_LOG(lg, HV_LOG_INFO, "d", 0, HV_LOG_DOUBLE("nan", NAN), HV_LOG_DOUBLE("inf", INFINITY),
         HV_LOG_DOUBLE("ninf", -INFINITY), HV_LOG_DOUBLE("tiny", 5e-324));
  hv_log_close(lg);
  char *text = read_all(s.path, NULL);
  json_t *lines[2];
  assert_int_equal(parse_lines(text, lines, 2), 1);
  assert_string_equal(str_field(lines[0], "nan"), "nan");
  assert_string_equal(str_field(lines[0], "inf"), "inf");
  assert_string_equal(str_field(lines[0], "ninf"), "-inf");
  assert_true(json_real_value(json_object_get(lines[0], "tiny")) == 5e-324);
  free_lines(lines, 1);
  free(text);
  sink_close(&s);
}

/* The raw text of field `key` in a line: what follows "key": up to the next ',' or '}'. */
static void raw_field(const char *line, const char *key, char *out, size_t size) {
  char pattern[64];
  snprintf(pattern, sizeof pattern, "\"%s\":", key);
  const char *p = strstr(line, pattern);
  if (p == NULL) fail_msg("no field %s in %s", key, line);
  p += strlen(pattern);
  size_t n = strcspn(p, ",}");
  assert_true(n < size);
  memcpy(out, p, n);
  out[n] = '\0';
}

static void test_doubles_are_shortest_round_trip(void **state) {
  (void)state;
  enum { RANDOM_COUNT = 200 };
  /* Values and the text each must have: the fewest digits that read back to the same double. */
  static const struct {
    double d;
    const char *text;
  } cases[] = {
      {4.01143, "4.01143"},  /* %.17g wrote 4.0114299999999998 */
      {0.1, "0.1"},
      {1.5, "1.5"},
      {100.0, "100"},
      {-0.0, "-0"},
      {1.0 / 3.0, "0.3333333333333333"},      /* needs 16 */
      {0.1 + 0.2, "0.30000000000000004"},     /* needs 17 */
      {1e300, "1e+300"},
      {5e-324, "5e-324"},                     /* subnormals carry fewer digits */
      {2.2250738585072009e-308, "2.225073858507201e-308"}, /* the largest subnormal */
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {123456789012345.0, "123456789012345"},
      {9007199254740993.0, "9007199254740992"}, /* 2^53 + 1 rounds to 2^53 */
  };
  const size_t count = sizeof cases / sizeof cases[0];
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  for (size_t i = 0; i < count; i++) HV_LOG(lg, HV_LOG_INFO, "d", 0, HV_LOG_DOUBLE("v", cases[i].d));
  /* Random bit patterns, every finite one must read back exactly. */
  uint64_t x = 0x9E3779B97F4A7C15u;
  double random[RANDOM_COUNT];
  size_t random_count = 0;
  while (random_count < sizeof random / sizeof random[0]) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof d);
    if (!isfinite(d)) continue;
    random[random_count++] = d;
    HV_LOG(lg, HV_LOG_INFO, "r", 0, HV_LOG_DOUBLE("v", d));
  }
  hv_log_close(lg);

  char *text = read_all(s.path, NULL);
  const char *line = text;
  char raw[64];
  for (size_t i = 0; i < count + random_count; i++) {
    raw_field(line, "v", raw, sizeof raw);
    double want = i < count ? cases[i].d : random[i - count];
    if (i < count && strcmp(raw, cases[i].text) != 0)
      fail_msg("%.17g was written as %s, want %s", want, raw, cases[i].text);
    double back = strtod(raw, NULL);
    if (memcmp(&back, &want, sizeof back) != 0) fail_msg("%s does not read back as %.17g", raw, want);
    char longest[40];
    snprintf(longest, sizeof longest, "%.17g", want);
    assert_true(strlen(raw) <= strlen(longest));
    line = strchr(line, '\n');
    assert_non_null(line);
    line++;
  }
  assert_string_equal(line, "");
  json_t *lines[sizeof cases / sizeof cases[0] + RANDOM_COUNT];
  assert_int_equal(parse_lines(text, lines, count + RANDOM_COUNT), count + RANDOM_COUNT); /* JSON */
  free_lines(lines, count + RANDOM_COUNT);
  free(text);
  sink_close(&s);
}

static void test_log_file_is_appended_and_private(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  char path[160];
  snprintf(path, sizeof path, "%s/service.log", s.dir);
  for (int round = 0; round < 2; round++) {
    hv_log_options opt = {.level = HV_LOG_INFO, .file = path, .fd = -1};
    hv_logger *lg = NULL;
    assert_int_equal(hv_log_open(&opt, &lg, NULL), HV_LOG_OK);
    HV_LOG(lg, HV_LOG_INFO, "round", 0, HV_LOG_INT("n", round));
    hv_log_close(lg);
  }
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0077, 0);
  char *text = read_all(path, NULL);
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 2);
  assert_int_equal(json_integer_value(json_object_get(lines[0], "n")), 0);
  assert_int_equal(json_integer_value(json_object_get(lines[1], "n")), 1);
  free_lines(lines, 2);
  free(text);
  unlink(path);

  /* A file that cannot be opened is an error naming it. */
  char bad[200];
  snprintf(bad, sizeof bad, "%s/no/such/dir/x.log", s.dir);
  hv_log_options opt = {.level = HV_LOG_INFO, .file = bad, .fd = -1};
  hv_logger *lg = NULL;
  hv_log_error err;
  assert_int_equal(hv_log_open(&opt, &lg, &err), HV_LOG_OPEN_FAILED);
  assert_null(lg);
  assert_non_null(strstr(err.message, bad));
  assert_non_null(strstr(err.message, "No such file"));
  sink_close(&s);
}

static void test_zero_options_mean_stderr(void **state) {
  (void)state;
  /* Point stderr at a file for the duration, and open with all-zero options. */
  sink s;
  sink_open(&s);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_int_equal(dup2(s.fd, STDERR_FILENO), STDERR_FILENO);
  hv_log_options opt = {0};
  hv_logger *lg = NULL;
  hv_log_status st = hv_log_open(&opt, &lg, NULL);
  HV_LOG(lg, HV_LOG_INFO, "to.stderr", 0, HV_LOG_INT("n", 1));
  HV_LOG(lg, HV_LOG_DEBUG, "debug.too", 0, HV_LOG_INT("n", 2)); /* the zero level is debug */
  hv_log_close(lg);
  dup2(saved, STDERR_FILENO);
  close(saved);
  assert_int_equal(st, HV_LOG_OK);
  char *text = read_all(s.path, NULL);
  json_t *lines[4];
  assert_int_equal(parse_lines(text, lines, 4), 2);
  assert_string_equal(str_field(lines[0], "event"), "to.stderr");
  free_lines(lines, 2);
  free(text);
  hv_log_options neg = {.fd = -1};
  assert_int_equal(hv_log_open(&neg, &lg, NULL), HV_LOG_INVALID_ARGUMENT);
  assert_null(lg);
  sink_close(&s);
}

static void test_unwritable_descriptor_counts_drops(void **state) {
  (void)state;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(fd >= 0);
  hv_logger *lg = open_fd(fd, HV_LOG_DEBUG);
  assert_int_equal(hv_log_dropped(lg), 0);
  HV_LOG(lg, HV_LOG_INFO, "lost", 0, HV_LOG_INT("n", 1));
  HV_LOG(lg, HV_LOG_DEBUG, "lost", 0, HV_LOG_INT("n", 2));
  assert_int_equal(hv_log_dropped(lg), 2);
  hv_log_close(lg);
  close(fd);
  hv_log_event(NULL, HV_LOG_ERROR, "no logger", 0, NULL, 0); /* a no-op, not a crash */
}

#define THREADS 8
#define PER_THREAD 500

static void *writer(void *arg) {
  hv_logger *lg = arg;
  char filler[300];
  memset(filler, 'x', sizeof filler - 1);
  filler[sizeof filler - 1] = '\0';
  for (int i = 0; i < PER_THREAD; i++)
    HV_LOG(lg, HV_LOG_INFO, "t", 0, HV_LOG_UINT("thread", (uintptr_t)pthread_self() & 0xffff),
           HV_LOG_INT("i", i), HV_LOG_STR("filler", filler));
  return NULL;
}

static void test_threads_never_interleave_lines(void **state) {
  (void)state;
  sink s;
  sink_open(&s);
  hv_logger *lg = open_fd(s.fd, HV_LOG_DEBUG);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&th[i], NULL, writer, lg), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  hv_log_close(lg);
  char *text = read_all(s.path, NULL);
  json_t **lines = calloc(THREADS * PER_THREAD + 1, sizeof *lines);
  assert_non_null(lines);
  assert_int_equal(parse_lines(text, lines, THREADS * PER_THREAD + 1), THREADS * PER_THREAD);
  free_lines(lines, THREADS * PER_THREAD);
  free(lines);
  free(text);
  sink_close(&s);
}

static void test_format_time(void **state) {
  (void)state;
  char t[HV_LOG_TIME_SIZE];
  hv_log_format_time(0, t);
  assert_string_equal(t, "1970-01-01T00:00:00.000Z");
  hv_log_format_time(INT64_C(1795514400123), t);
  assert_string_equal(t, "2026-11-24T10:00:00.123Z");
  hv_log_format_time(INT64_C(1709251199999), t);
  assert_string_equal(t, "2024-02-29T23:59:59.999Z");
  hv_log_format_time(INT64_C(951868800000), t);
  assert_string_equal(t, "2000-03-01T00:00:00.000Z");
  hv_log_format_time(INT64_C(946684799001), t);
  assert_string_equal(t, "1999-12-31T23:59:59.001Z");
  hv_log_format_time(-5, t);
  assert_string_equal(t, "1970-01-01T00:00:00.000Z");
  hv_log_format_time(INT64_MAX, t);
  assert_string_equal(t, "9999-12-31T23:59:59.999Z");
}

static void test_level_names(void **state) {
  (void)state;
  hv_log_level l = HV_LOG_ERROR;
  assert_true(hv_log_level_parse("debug", &l));
  assert_int_equal(l, HV_LOG_DEBUG);
  assert_true(hv_log_level_parse("warn", &l));
  assert_int_equal(l, HV_LOG_WARN);
  assert_false(hv_log_level_parse("warning", &l));
  assert_false(hv_log_level_parse("INFO", &l)); /* config values are exact */
  assert_false(hv_log_level_parse(NULL, &l));
  assert_int_equal(l, HV_LOG_WARN);
  assert_string_equal(hv_log_level_name(HV_LOG_ERROR), "error");
  assert_string_equal(hv_log_status_name(HV_LOG_BAD_LEVEL), "HV_LOG_BAD_LEVEL");
  assert_string_equal(hv_log_status_text(HV_LOG_OPEN_FAILED), "cannot open the log file");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_line_has_header_and_typed_fields, setup),
      cmocka_unit_test_setup(test_security_flag_marks_the_line, setup),
      cmocka_unit_test_setup(test_level_filtering, setup),
      cmocka_unit_test_setup(test_env_overrides_level, setup),
      cmocka_unit_test_setup(test_hostile_strings_are_escaped, setup),
      cmocka_unit_test_setup(test_reserved_keys_cannot_shadow_the_header, setup),
      cmocka_unit_test_setup(test_long_values_and_lines_are_bounded, setup),
      cmocka_unit_test_setup(test_doubles_that_json_cannot_hold, setup),
      cmocka_unit_test_setup(test_doubles_are_shortest_round_trip, setup),
      cmocka_unit_test_setup(test_log_file_is_appended_and_private, setup),
      cmocka_unit_test_setup(test_zero_options_mean_stderr, setup),
      cmocka_unit_test_setup(test_unwritable_descriptor_counts_drops, setup),
      cmocka_unit_test_setup(test_threads_never_interleave_lines, setup),
      cmocka_unit_test(test_format_time),
      cmocka_unit_test(test_level_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
