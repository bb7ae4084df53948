/*
 * argtext.h: command-line arguments as protocol values (protocol v1.1: numbers, strings and
 * bytes). The one parser of a function's arguments for `hypervisor run` and `hvctl exec`,
 * so both take the same forms (docs/cli.md, "Arguments"):
 *
 *   s:TEXT      a string: TEXT's bytes, which must be valid UTF-8 (a command line cannot hold a
 *               NUL byte: use b64: or @FILE for one)
 *   b64:BASE64  bytes: standard or url-safe base64, with or without padding
 *               (hv_crypto_base64_decode: no whitespace, no mixed alphabets, no stray bits)
 *   @FILE       bytes: the whole content of FILE, at most CLI_VALUE_FILE_MAX bytes
 *   anything    a number (valtext.h), of the type of the export's core parameter at the
 *   else        argument's flattened position
 *
 * A string or bytes argument takes two core parameters (ptr, len), a number one
 * (hv_cabi_flat_count); cli_values_parse walks the arguments with it. The declared types are then
 * checked against the export with hv_cabi_check.
 */
#ifndef HV_ARGTEXT_H
#define HV_ARGTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "hv_value.h"
#include "wasm_engine.h"

/* The largest @FILE argument: as large as a module may be (CLI_FILE_MAX). */
#define CLI_VALUE_FILE_MAX ((size_t)64 * 1024 * 1024)

/* X(name, message) */
#define CLI_VALUE_STATUS_MAP(X)                                                        \
  X(CLI_VALUE_OK, "ok")                                                                \
  X(CLI_VALUE_BAD_NUMBER, "not a valid number of its parameter's type")                \
  X(CLI_VALUE_BAD_UTF8, "the text after s: is not valid UTF-8")                        \
  X(CLI_VALUE_BAD_BASE64, "the text after b64: is not valid base64")                   \
  X(CLI_VALUE_FILE, "the file after @ cannot be read")                                 \
  X(CLI_VALUE_COUNT, "the arguments do not make as many core parameters as the export takes") \
  X(CLI_VALUE_NO_MEMORY, "out of memory")                                              \
  X(CLI_VALUE_SHAPE, "the arguments or the declared result do not fit the export")

typedef enum cli_value_status {
#define CLI_VALUE__ENUM(name, text) name,
  CLI_VALUE_STATUS_MAP(CLI_VALUE__ENUM)
#undef CLI_VALUE__ENUM
} cli_value_status;

/* The table's message; never NULL. */
const char *cli_value_status_message(cli_value_status status);

/* The type an argument's form gives: HV_TYPE_STRING (s:), HV_TYPE_BYTES (b64:, @), or 0 for a
 * number, whose type is its parameter's. */
hv_type cli_value_form(const char *text);

/*
 * Parses one argument into *out. `numeric_type` is the core parameter's type at the argument's
 * position, used only when the text is a number. On success *owned receives the buffer that
 * out->data points into when the value needed one (b64:, @FILE; caller frees it with free() once
 * the value is no longer used), or NULL (a number; s:, whose data points into `text`, which must
 * outlive the value). On failure *out and *owned are untouched, and `why` (why_size bytes,
 * NUL-terminated when why_size > 0) says what is wrong, without the argument's text:
 * "not a valid i32: out of range", "cannot read 'x.bin': No such file or directory".
 */
cli_value_status cli_value_parse(const char *text, hvw_valtype numeric_type, hv_value *out, uint8_t **owned,
                                 char *why, size_t why_size);

/* A function's arguments, parsed. */
typedef struct cli_values {
  hv_value *values; /* count values, in order */
  uint8_t **owned;  /* count buffers the values point into, or NULL entries */
  size_t count;
  uint32_t flat_count; /* the core parameters they make */
} cli_values;

/*
 * Parses texts[0 .. count) against the export's core parameters `core`, walking them with
 * hv_cabi_flat_count: each number is typed by the parameter at its position. First, before any
 * file is read, CLI_VALUE_COUNT when the arguments' forms make more or fewer core parameters than
 * core->param_count (*bad_index is then count); any other failure is argument *bad_index's
 * (counting from 0), with `why` as cli_value_parse's. On success *out owns what it holds
 * (cli_values_free); on failure *out is empty but for flat_count, the core parameters the
 * arguments' forms make. The values' types are not checked against the parameters beyond the
 * numbers' own: hv_cabi_check does that.
 */
cli_value_status cli_values_parse(char *const *texts, size_t count, const hvw_functype_view *core, cli_values *out,
                                  size_t *bad_index, char *why, size_t why_size);

/*
 * The whole argument step of a call to the export `name` with core type `core`, as `hypervisor run`
 * and `hvctl exec` take it: cli_values_parse, then hv_cabi_check of the values' types and
 * result_type (0, HV_TYPE_STRING or HV_TYPE_BYTES). On success *out owns the values
 * (cli_values_free). On failure *out is empty (as cli_values_parse leaves it) and `msg` (msg_size
 * bytes, NUL-terminated when msg_size > 0) holds the message of the INVALID_ARGUMENTS line
 * (docs/cli.md, "Failures"):
 * "add takes 2 arguments (i32, i32), got 1", "argument 2 ('x') is not a valid i32: ...",
 * "argument 1 ('@x.bin'): cannot read 'x.bin': ...", "f: a string result needs ..."; the status is
 * cli_values_parse's, or CLI_VALUE_SHAPE when hv_cabi_check refused the call.
 */
cli_value_status cli_values_for_call(const char *name, char *const *texts, size_t count,
                                     const hvw_functype_view *core, hv_type result_type, cli_values *out,
                                     char *msg, size_t msg_size);

/* Frees what *values owns and empties it; safe on an empty one. */
void cli_values_free(cli_values *values);

#endif /* HV_ARGTEXT_H */
