/*
 * hv_log.h: structured logs for the service, one JSON object per line.
 *
 *   {"time":"2026-11-24T10:00:00.123Z","level":"warn","event":"auth.rejected","security":true,
 *    "request_id":"…","remote":"127.0.0.1"}
 *
 * Every line starts with "time" (RFC 3339 UTC, milliseconds), "level" and "event", then
 * "security": true when the event is a security event (HV_LOG_SECURITY), then the caller's fields
 * in the order given. Lines go to a file (logging.file, opened for append, created 0600) or to a
 * file descriptor the caller names (stderr by default). Each line is written with one write(2)
 * under the logger's mutex, so lines from many threads never interleave.
 *
 * NEVER pass a secret (API key, private key, DSN with a password), a plaintext program, argument
 * or result to this API. Log ids (request_id, api_key_id, key_id), sizes, statuses, timings and
 * commitments only. The logger cannot tell a secret from any other string, so this rule is the
 * caller's.
 *
 * Level: the configured level, overridden by the environment variable HYPERVISOR_LOG (read once, by
 * hv_log_open). Levels are "debug" < "info" < "warn" < "error"; a line is written when its level is
 * at least the effective one.
 *
 * Bounds: a string value is cut after HV_LOG_VALUE_MAX bytes (the cut is marked "…"), and a line
 * never exceeds HV_LOG_LINE_MAX bytes: fields that do not fit are dropped and the line gets
 * "truncated": true. Strings are escaped for JSON: quotes, backslashes and control characters
 * (including U+2028/U+2029 and DEL) become escapes, and bytes that are not valid UTF-8 become
 * U+FFFD, so a hostile string can never end a line, forge a field or produce invalid JSON.
 *
 * State: the logger object holds everything (fd, level, mutex, counters); there is no global
 * mutable state. All functions are safe to call from many threads at once on one logger, except
 * hv_log_close, which must be the last call.
 */
#ifndef HV_LOG_H
#define HV_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Errors ---------------------------------------------------------------------------------- */

/* X(name, message). Numbers are stable: append only, never reuse one. */
#define HV_LOG_STATUS_MAP(X)                                        \
  X(HV_LOG_OK, "ok")                                                \
  X(HV_LOG_INVALID_ARGUMENT, "invalid argument")                    \
  X(HV_LOG_BAD_LEVEL, "unknown log level")                          \
  X(HV_LOG_OPEN_FAILED, "cannot open the log file")                 \
  X(HV_LOG_NO_MEMORY, "out of memory")

typedef enum hv_log_status {
#define HV_LOG__ENUM(name, text) name,
  HV_LOG_STATUS_MAP(HV_LOG__ENUM)
#undef HV_LOG__ENUM
} hv_log_status;

#define HV_LOG_MESSAGE_MAX 256

typedef struct hv_log_error {
  hv_log_status status;
  char message[HV_LOG_MESSAGE_MAX]; /* NUL-terminated; names the file or the bad value */
} hv_log_error;

/* "HV_LOG_OK", ...; never NULL. */
const char *hv_log_status_name(hv_log_status status);
/* "ok", "unknown log level", ...; never NULL. */
const char *hv_log_status_text(hv_log_status status);

/* ---- Levels ---------------------------------------------------------------------------------- */

typedef enum hv_log_level {
  HV_LOG_DEBUG = 0,
  HV_LOG_INFO = 1,
  HV_LOG_WARN = 2,
  HV_LOG_ERROR = 3,
} hv_log_level;

/* The environment variable that overrides the configured level. */
#define HV_LOG_ENV "HYPERVISOR_LOG"

/* "debug", "info", "warn", "error"; "?" for anything else. */
const char *hv_log_level_name(hv_log_level level);
/*
 * Parses "debug", "info", "warn" or "error" (exactly, lowercase) into *out. False (and *out
 * untouched) for anything else, NULL included.
 */
bool hv_log_level_parse(const char *text, hv_log_level *out);

/* ---- Fields ---------------------------------------------------------------------------------- */

typedef enum hv_log_field_type {
  HV_LOG_FIELD_STR,    /* NULL is written as JSON null */
  HV_LOG_FIELD_INT,
  HV_LOG_FIELD_UINT,
  HV_LOG_FIELD_DOUBLE, /* the shortest decimal that reads back exactly (%.15g..%.17g: 4.01143,
                          0.1, 1e+300); NaN and infinities are written as "nan", "inf", "-inf" */
  HV_LOG_FIELD_BOOL,
} hv_log_field_type;

/*
 * One field of a line. `key` should be a short literal (it is escaped all the same) and unique in
 * the line; "time", "level", "event", "security" and "truncated" are reserved: a field using one
 * of them is written as "field.<key>" so it cannot shadow the line's own.
 */
typedef struct hv_log_field {
  const char *key;
  hv_log_field_type type;
  union {
    const char *s;
    int64_t i;
    uint64_t u;
    double d;
    bool b;
  } v;
} hv_log_field;

#define HV_LOG_STR(k, val) ((hv_log_field){.key = (k), .type = HV_LOG_FIELD_STR, .v.s = (val)})
#define HV_LOG_INT(k, val) \
  ((hv_log_field){.key = (k), .type = HV_LOG_FIELD_INT, .v.i = (int64_t)(val)})
#define HV_LOG_UINT(k, val) \
  ((hv_log_field){.key = (k), .type = HV_LOG_FIELD_UINT, .v.u = (uint64_t)(val)})
#define HV_LOG_DOUBLE(k, val) \
  ((hv_log_field){.key = (k), .type = HV_LOG_FIELD_DOUBLE, .v.d = (double)(val)})
#define HV_LOG_BOOL(k, val) ((hv_log_field){.key = (k), .type = HV_LOG_FIELD_BOOL, .v.b = (val)})

/* Flags of an event. */
#define HV_LOG_SECURITY 0x1u /* adds "security": true (bad API key, decryption failure, ...) */

/* Bounds (bytes). HV_LOG_LINE_MAX includes the final newline. */
#define HV_LOG_LINE_MAX 8192
#define HV_LOG_VALUE_MAX 1024

/* ---- The logger ------------------------------------------------------------------------------ */

typedef struct hv_logger hv_logger;

typedef struct hv_log_options {
  hv_log_level level; /* the configured level (logging.level) */
  const char *file;   /* logging.file; NULL or "" to write to `fd` instead */
  int fd;             /* used when file is NULL; 0 (the zero value) means stderr, since stdin is
                         never a log target; not closed by the logger */
} hv_log_options;

/*
 * Opens a logger. The effective level is HYPERVISOR_LOG when that is set and not empty (one of the
 * four names, case-insensitive), else options->level; an unknown HYPERVISOR_LOG value is an error
 * (HV_LOG_BAD_LEVEL), like any bad configuration value. With options->file set, the file is opened
 * for append (created with mode 0600); the logger owns that descriptor and closes it.
 * Returns HV_LOG_OK and *out, which the caller frees with hv_log_close(); on failure *out is NULL
 * and err (may be NULL) says why.
 */
hv_log_status hv_log_open(const hv_log_options *options, hv_logger **out, hv_log_error *err);

/* Closes the file the logger opened (not a caller's fd) and frees it. NULL is a no-op. */
void hv_log_close(hv_logger *logger);

/* The effective level (after HYPERVISOR_LOG). */
hv_log_level hv_log_get_level(const hv_logger *logger);

/* Changes the level from now on (any thread). False, and nothing changes, when HYPERVISOR_LOG
 * chose the level (the operator's override wins over a configuration reload) or `level` is bad. */
bool hv_log_set_level(hv_logger *logger, hv_log_level level);

/*
 * Opens the logger's file again by name and writes there from now on (log rotation: after the old
 * file was renamed away). The old descriptor is closed once no line is being written to it. A
 * logger on a caller's descriptor has nothing to reopen: HV_LOG_OK. On failure the logger keeps
 * writing where it did, and err (may be NULL) says why.
 */
hv_log_status hv_log_reopen(hv_logger *logger, hv_log_error *err);

/* True when a line of this level would be written: lets callers skip building costly fields. */
bool hv_log_enabled(const hv_logger *logger, hv_log_level level);

/*
 * Writes one line if `level` is enabled. `event` is a short dotted name ("request.done"); `flags`
 * is 0 or HV_LOG_SECURITY; `fields` may be NULL when `count` is 0. Nothing is kept after the call.
 * A line that cannot be written (disk full, closed pipe) is counted in hv_log_dropped(); logging
 * never fails the caller. A NULL logger is a no-op.
 */
void hv_log_event(hv_logger *logger, hv_log_level level, const char *event, unsigned flags,
                  const hv_log_field *fields, size_t count);

/*
 * HV_LOG(logger, level, event, flags, field, ...): hv_log_event with the fields written inline
 * (at least one), e.g.
 *   HV_LOG(lg, HV_LOG_WARN, "auth.rejected", HV_LOG_SECURITY,
 *          HV_LOG_STR("request_id", id), HV_LOG_STR("reason", "unknown key"));
 * Use hv_log_event(lg, level, event, flags, NULL, 0) for an event without fields.
 */
#define HV_LOG(logger, level, event, flags, ...)                                  \
  hv_log_event((logger), (level), (event), (flags), (const hv_log_field[]){__VA_ARGS__}, \
               sizeof((const hv_log_field[]){__VA_ARGS__}) / sizeof(hv_log_field))

/* Lines that could not be written since the logger was opened. */
uint64_t hv_log_dropped(const hv_logger *logger);

/*
 * Formats a time in milliseconds since the Unix epoch as RFC 3339 UTC with milliseconds,
 * "2026-11-24T10:00:00.123Z", into `out` (HV_LOG_TIME_SIZE bytes, NUL-terminated). Times before
 * 1970 or after 9999 are clamped to those years' limits.
 */
#define HV_LOG_TIME_SIZE 25
void hv_log_format_time(int64_t ms_since_epoch, char out[HV_LOG_TIME_SIZE]);

#ifdef __cplusplus
}
#endif

#endif /* HV_LOG_H */
