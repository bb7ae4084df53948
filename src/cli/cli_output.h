/*
 * cli_output.h: how `hypervisor run` and `hvctl exec` print a call's results (docs/cli.md,
 * "Output"), so both print the same bytes for the same values.
 */
#ifndef HV_CLI_OUTPUT_H
#define HV_CLI_OUTPUT_H

#include <stddef.h>

#include "hv_value.h"

/* X(name, message) */
#define CLI_OUTPUT_STATUS_MAP(X)                          \
  X(CLI_OUTPUT_OK, "ok")                                  \
  X(CLI_OUTPUT_FILE, "the --out file cannot be written")  \
  X(CLI_OUTPUT_NO_MEMORY, "out of memory")

typedef enum cli_output_status {
#define CLI_OUTPUT__ENUM(name, text) name,
  CLI_OUTPUT_STATUS_MAP(CLI_OUTPUT__ENUM)
#undef CLI_OUTPUT__ENUM
} cli_output_status;

/*
 * Prints values[0 .. count) on stdout, one per line: a number (and any other core value) as
 * valtext_format writes it, a string as its bytes as they are, bytes as standard base64 with
 * padding. With out_file (not NULL), count must be 1 and the value a string or bytes: its raw bytes
 * go to out_file, created or truncated, and nothing is printed.
 * stdout is not flushed: the caller checks it once all it prints is written.
 * CLI_OUTPUT_FILE: out_file could not be written (or there was not exactly one string or bytes
 * value for it); CLI_OUTPUT_NO_MEMORY: the base64 text could not be allocated. `why` (why_size
 * bytes, NUL-terminated when why_size > 0) then says what failed: "cannot write 'FILE': reason".
 * Allocates nothing that outlives the call.
 */
cli_output_status cli_print_values(const hv_value *values, size_t count, const char *out_file, char *why,
                                   size_t why_size);

#endif /* HV_CLI_OUTPUT_H */
