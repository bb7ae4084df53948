/*
 * cli_file.h: reading a whole file with a size bound, for module and test files.
 */
#ifndef HV_CLI_FILE_H
#define HV_CLI_FILE_H

#include <stddef.h>
#include <stdint.h>

/* The largest file `hypervisor` reads (a module, a spec-test JSON). */
#define CLI_FILE_MAX ((size_t)64 * 1024 * 1024)

/*
 * Reads `path` into a new buffer of *out_size bytes (plus a NUL after them, not counted) that the
 * caller frees with free(). Fails if the file cannot be read or holds more than `max` bytes: returns
 * NULL and writes a one-line reason ("No such file or directory", "larger than 64 MiB") to `why`.
 */
uint8_t *cli_read_file(const char *path, size_t max, size_t *out_size, char *why, size_t why_size);

#endif /* HV_CLI_FILE_H */
