/*
 * log.c: structured JSON-lines logger (include/hv_log.h).
 *
 * A line is built in a stack buffer of HV_LOG_LINE_MAX bytes, then written with one write(2) under
 * the logger's mutex. The escaper never trusts its input: it validates UTF-8 itself, so a field can
 * hold any bytes at all.
 */
#include "hv_log.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct hv_logger {
  int fd;               /* written and replaced (hv_log_reopen) under lock */
  bool owns_fd;
  char *path;           /* the file the logger opened, for hv_log_reopen; NULL with a caller's fd */
  _Atomic int level;    /* an hv_log_level; read without the lock by every thread */
  bool level_pinned;    /* HYPERVISOR_LOG chose it: hv_log_set_level leaves it */
  pthread_mutex_t lock; /* one line at a time on fd */
  _Atomic uint64_t dropped;
};

/* ---- Errors and levels ----------------------------------------------------------------------- */

const char *hv_log_status_name(hv_log_status status) {
  switch (status) {
#define HV_LOG__NAME(name, text) \
  case name:                     \
    return #name;
    HV_LOG_STATUS_MAP(HV_LOG__NAME)
#undef HV_LOG__NAME
  }
  return "HV_LOG_UNKNOWN";
}

const char *hv_log_status_text(hv_log_status status) {
  switch (status) {
#define HV_LOG__TEXT(name, text) \
  case name:                     \
    return text;
    HV_LOG_STATUS_MAP(HV_LOG__TEXT)
#undef HV_LOG__TEXT
  }
  return "unknown status";
}

static const char *const level_names[] = {"debug", "info", "warn", "error"};

const char *hv_log_level_name(hv_log_level level) {
  if ((unsigned)level >= sizeof level_names / sizeof level_names[0]) return "?";
  return level_names[level];
}

bool hv_log_level_parse(const char *text, hv_log_level *out) {
  if (text == NULL) return false;
  for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
    if (strcmp(text, level_names[i]) == 0) {
      *out = (hv_log_level)i;
      return true;
    }
  }
  return false;
}

static hv_log_status fail(hv_log_error *err, hv_log_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static hv_log_status fail(hv_log_error *err, hv_log_status status, const char *fmt, ...) {
  if (err != NULL) {
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

/* ---- Time ------------------------------------------------------------------------------------ */

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm; no libc time zone state). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = (int64_t)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yy + (*m <= 2));
}

/* Writes v as exactly `width` decimal digits (v < 10^width) and returns the end. */
static char *put_digits(char *o, unsigned v, unsigned width) {
  for (unsigned i = width; i > 0; i--) {
    o[i - 1] = (char)('0' + v % 10);
    v /= 10;
  }
  return o + width;
}

void hv_log_format_time(int64_t ms, char out[HV_LOG_TIME_SIZE]) {
  const int64_t max_ms = INT64_C(253402300799999); /* 9999-12-31T23:59:59.999Z */
  if (ms < 0) ms = 0;
  if (ms > max_ms) ms = max_ms;
  int64_t secs = ms / 1000;
  int64_t days = secs / 86400;
  unsigned sod = (unsigned)(secs % 86400);
  int y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  /* Digits by hand: the ranges are known, and snprintf's truncation warnings cannot see them. */
  char *o = out;
  o = put_digits(o, (unsigned)y, 4);
  *o++ = '-';
  o = put_digits(o, mo, 2);
  *o++ = '-';
  o = put_digits(o, d, 2);
  *o++ = 'T';
  o = put_digits(o, sod / 3600, 2);
  *o++ = ':';
  o = put_digits(o, sod / 60 % 60, 2);
  *o++ = ':';
  o = put_digits(o, sod % 60, 2);
  *o++ = '.';
  o = put_digits(o, (unsigned)(ms % 1000), 3);
  *o++ = 'Z';
  *o = '\0';
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Open / close ---------------------------------------------------------------------------- */

hv_log_status hv_log_open(const hv_log_options *options, hv_logger **out, hv_log_error *err) {
  if (out == NULL) return fail(err, HV_LOG_INVALID_ARGUMENT, "hv_log_open: out is NULL");
  *out = NULL;
  if (options == NULL || (unsigned)options->level > HV_LOG_ERROR)
    return fail(err, HV_LOG_INVALID_ARGUMENT, "hv_log_open: bad options");
  bool use_file = options->file != NULL && options->file[0] != '\0';
  if (!use_file && options->fd < 0)
    return fail(err, HV_LOG_INVALID_ARGUMENT, "hv_log_open: negative file descriptor");

  hv_log_level level = options->level;
  const char *env = getenv(HV_LOG_ENV);
  if (env != NULL && env[0] != '\0') {
    bool found = false;
    for (unsigned i = 0; i < sizeof level_names / sizeof level_names[0]; i++) {
      if (strcasecmp(env, level_names[i]) == 0) {
        level = (hv_log_level)i;
        found = true;
      }
    }
    if (!found) {
      /* Echo at most a short prefix: the variable is the operator's, but keep messages bounded. */
      return fail(err, HV_LOG_BAD_LEVEL,
                  "%s: unknown log level '%.32s' (expected debug, info, warn or error)", HV_LOG_ENV,
                  env);
    }
  }

  hv_logger *lg = calloc(1, sizeof *lg);
  if (lg == NULL) return fail(err, HV_LOG_NO_MEMORY, "hv_log_open: out of memory");
  atomic_init(&lg->level, (int)level);
  lg->level_pinned = env != NULL && env[0] != '\0';
  atomic_init(&lg->dropped, 0);
  if (pthread_mutex_init(&lg->lock, NULL) != 0) {
    free(lg);
    return fail(err, HV_LOG_NO_MEMORY, "hv_log_open: cannot create a mutex");
  }
  if (use_file) {
    /* 0600: logs name request and key ids and client metadata; nobody else needs to read them. */
    lg->fd = open(options->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (lg->fd < 0) {
      int e = errno;
      char ebuf[128];
      const char *why = strerror_r(e, ebuf, sizeof ebuf);
      pthread_mutex_destroy(&lg->lock);
      free(lg);
      return fail(err, HV_LOG_OPEN_FAILED, "logging.file %s: %s", options->file, why);
    }
    lg->owns_fd = true;
    lg->path = strdup(options->file);
    if (lg->path == NULL) {
      close(lg->fd);
      pthread_mutex_destroy(&lg->lock);
      free(lg);
      return fail(err, HV_LOG_NO_MEMORY, "hv_log_open: out of memory");
    }
  } else {
    lg->fd = options->fd == 0 ? STDERR_FILENO : options->fd;
  }
  *out = lg;
  if (err != NULL) {
    err->status = HV_LOG_OK;
    err->message[0] = '\0';
  }
  return HV_LOG_OK;
}

void hv_log_close(hv_logger *lg) {
  if (lg == NULL) return;
  if (lg->owns_fd) close(lg->fd);
  free(lg->path);
  pthread_mutex_destroy(&lg->lock);
  free(lg);
}

/* atomic_load takes a non-const pointer in C17; the object itself is not modified. */
hv_log_level hv_log_get_level(const hv_logger *lg) {
  return lg != NULL ? (hv_log_level)atomic_load((_Atomic int *)&lg->level) : HV_LOG_ERROR;
}

bool hv_log_enabled(const hv_logger *lg, hv_log_level level) {
  return lg != NULL && (unsigned)level <= HV_LOG_ERROR && level >= hv_log_get_level(lg);
}

bool hv_log_set_level(hv_logger *lg, hv_log_level level) {
  if (lg == NULL || (unsigned)level > HV_LOG_ERROR || lg->level_pinned) return false;
  atomic_store(&lg->level, (int)level);
  return true;
}

hv_log_status hv_log_reopen(hv_logger *lg, hv_log_error *err) {
  if (lg == NULL) return fail(err, HV_LOG_INVALID_ARGUMENT, "hv_log_reopen: NULL logger");
  if (lg->path == NULL) {
    if (err != NULL) *err = (hv_log_error){.status = HV_LOG_OK};
    return HV_LOG_OK; /* a caller's descriptor: nothing to reopen */
  }
  int fd = open(lg->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0) {
    char ebuf[128];
    return fail(err, HV_LOG_OPEN_FAILED, "logging.file %s: %s", lg->path,
                strerror_r(errno, ebuf, sizeof ebuf));
  }
  pthread_mutex_lock(&lg->lock);
  int old = lg->fd;
  lg->fd = fd;
  pthread_mutex_unlock(&lg->lock);
  close(old);
  if (err != NULL) *err = (hv_log_error){.status = HV_LOG_OK};
  return HV_LOG_OK;
}

uint64_t hv_log_dropped(const hv_logger *lg) {
  /* atomic_load takes a non-const pointer in C17; the object itself is not modified. */
  return lg != NULL ? atomic_load((_Atomic uint64_t *)&lg->dropped) : 0;
}

/* ---- Line builder ---------------------------------------------------------------------------- */

typedef struct line {
  char *p;
  size_t len;
  size_t cap;    /* bytes usable for content, the closing reserve excluded */
  bool overflow; /* an append did not fit; len is meaningless until rolled back */
} line;

static void put_bytes(line *l, const char *s, size_t n) {
  if (l->overflow || n > l->cap - l->len) {
    l->overflow = true;
    return;
  }
  memcpy(l->p + l->len, s, n);
  l->len += n;
}

static void put_str(line *l, const char *s) { put_bytes(l, s, strlen(s)); }

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when s does not start one (RFC 3629). */
static size_t utf8_seq(const unsigned char *s, size_t avail) {
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlongs */
    else if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90; /* no overlongs */
    else if (c == 0xF4)
      hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 0;
  }
  if (avail < n) return 0;
  if (s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < n; i++)
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  return n;
}

/* Appends s as a JSON string, quotes included, reading at most `max_in` bytes of it. */
static void put_json_string(line *l, const char *s, size_t max_in) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  size_t avail = strlen(s);
  size_t used = 0;
  put_bytes(l, "\"", 1);
  while (used < avail && !l->overflow) {
    if (used >= max_in) {
      put_str(l, "\xe2\x80\xa6"); /* U+2026: the value was cut here */
      break;
    }
    unsigned char c = p[used];
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
      /* Copy the run of plain ASCII at once. */
      size_t run = 1;
      while (used + run < avail && used + run < max_in) {
        unsigned char d = p[used + run];
        if (d < 0x20 || d >= 0x7F || d == '"' || d == '\\') break;
        run++;
      }
      put_bytes(l, (const char *)p + used, run);
      used += run;
      continue;
    }
    if (c == '"') {
      put_bytes(l, "\\\"", 2);
    } else if (c == '\\') {
      put_bytes(l, "\\\\", 2);
    } else if (c == '\n') {
      put_bytes(l, "\\n", 2);
    } else if (c == '\r') {
      put_bytes(l, "\\r", 2);
    } else if (c == '\t') {
      put_bytes(l, "\\t", 2);
    } else if (c < 0x20 || c == 0x7F) {
      char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      put_bytes(l, esc, sizeof esc);
    } else {
      size_t n = utf8_seq(p + used, avail - used);
      if (n == 0) {
        put_str(l, "\xef\xbf\xbd"); /* U+FFFD for one bad byte */
        used += 1;
        continue;
      }
      if (n == 3 && p[used] == 0xE2 && p[used + 1] == 0x80 &&
          (p[used + 2] == 0xA8 || p[used + 2] == 0xA9)) {
        /* U+2028/U+2029 are valid JSON but end lines in some readers; escape them. */
        put_str(l, p[used + 2] == 0xA8 ? "\\u2028" : "\\u2029");
      } else {
        put_bytes(l, (const char *)p + used, n);
      }
      used += n;
      continue;
    }
    used += 1;
  }
  put_bytes(l, "\"", 1);
}

static bool reserved_key(const char *key) {
  static const char *const reserved[] = {"time", "level", "event", "security", "truncated"};
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (strcmp(key, reserved[i]) == 0) return true;
  return false;
}

/*
 * The shortest %.Ng that strtod reads back to exactly d (%.17g always does), so 4.01143 is written
 * as such and not as 4.0114299999999998. A normal double that N <= 15 digits represent prints
 * those digits under %.15g (DBL_DIG is 15), so the search starts there; subnormals carry fewer
 * digits and start at 1 (5e-324). d must be finite; size >= 32.
 */
static void format_double(double d, char *out, size_t size) {
  for (int digits = fpclassify(d) == FP_SUBNORMAL ? 1 : 15; digits < 17; digits++) {
    int n = snprintf(out, size, "%.*g", digits, d);
    if (n > 0 && (size_t)n < size && strtod(out, NULL) == d) return;
  }
  snprintf(out, size, "%.17g", d);
}

static void put_field(line *l, const hv_log_field *f) {
  char num[40];
  const char *key = f->key != NULL ? f->key : "";
  put_bytes(l, ",", 1);
  if (reserved_key(key)) {
    char renamed[32];
    snprintf(renamed, sizeof renamed, "field.%s", key);
    put_json_string(l, renamed, 128);
  } else {
    put_json_string(l, key, 128);
  }
  put_bytes(l, ":", 1);
  switch (f->type) {
    case HV_LOG_FIELD_STR:
      if (f->v.s == NULL)
        put_str(l, "null");
      else
        put_json_string(l, f->v.s, HV_LOG_VALUE_MAX);
      break;
    case HV_LOG_FIELD_INT:
      snprintf(num, sizeof num, "%lld", (long long)f->v.i);
      put_str(l, num);
      break;
    case HV_LOG_FIELD_UINT:
      snprintf(num, sizeof num, "%llu", (unsigned long long)f->v.u);
      put_str(l, num);
      break;
    case HV_LOG_FIELD_DOUBLE:
      if (isnan(f->v.d)) {
        put_str(l, "\"nan\"");
      } else if (isinf(f->v.d)) {
        put_str(l, f->v.d > 0 ? "\"inf\"" : "\"-inf\"");
      } else {
        format_double(f->v.d, num, sizeof num);
        put_str(l, num);
      }
      break;
    case HV_LOG_FIELD_BOOL:
      put_str(l, f->v.b ? "true" : "false");
      break;
    default:
      put_str(l, "null"); /* an unknown type from a caller's bug must not break the line */
      break;
  }
}

static void write_line(hv_logger *lg, const char *p, size_t n) {
  pthread_mutex_lock(&lg->lock);
  while (n > 0) {
    ssize_t w = write(lg->fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      atomic_fetch_add(&lg->dropped, 1);
      break;
    }
    p += w;
    n -= (size_t)w;
  }
  pthread_mutex_unlock(&lg->lock);
}

void hv_log_event(hv_logger *lg, hv_log_level level, const char *event, unsigned flags,
                  const hv_log_field *fields, size_t count) {
  if (!hv_log_enabled(lg, level)) return;
  static const char closing_truncated[] = ",\"truncated\":true}\n";
  char buf[HV_LOG_LINE_MAX];
  line l = {.p = buf, .len = 0, .cap = sizeof buf - (sizeof closing_truncated - 1)};
  char ts[HV_LOG_TIME_SIZE];
  hv_log_format_time(now_ms(), ts);

  put_str(&l, "{\"time\":\"");
  put_str(&l, ts);
  put_str(&l, "\",\"level\":\"");
  put_str(&l, hv_log_level_name(level));
  put_str(&l, "\",\"event\":");
  put_json_string(&l, event != NULL ? event : "", 128);
  if (flags & HV_LOG_SECURITY) put_str(&l, ",\"security\":true");
  /* The header is bounded well under the capacity (128-byte event, 6 bytes per escaped byte). */

  bool truncated = false;
  for (size_t i = 0; fields != NULL && i < count; i++) {
    size_t mark = l.len;
    put_field(&l, &fields[i]);
    if (l.overflow) {
      l.len = mark;
      l.overflow = false;
      truncated = true;
      break;
    }
  }
  /* The reserve left outside cap always fits the closing. */
  const char *closing = truncated ? closing_truncated : "}\n";
  size_t closing_len = strlen(closing);
  memcpy(buf + l.len, closing, closing_len);
  write_line(lg, buf, l.len + closing_len);
}
