/* cli_file.c: bounded whole-file reads (see cli_file.h). */
#include "cli_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *cli_read_file(const char *path, size_t max, size_t *out_size, char *why, size_t why_size) {
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(why, why_size, "%s", strerror(errno));
    return NULL;
  }
  for (;;) {
    if (len == cap) {
      if (cap > max) break; /* read one chunk past the bound: the file is too large */
      size_t next = cap ? cap * 2 : 64 * 1024;
      if (next > max + 1) next = max + 1;
      if (next <= cap) next = cap + 1;
      uint8_t *grown = realloc(buf, next + 1); /* + 1 for the NUL */
      if (!grown) {
        snprintf(why, why_size, "out of memory");
        goto fail;
      }
      buf = grown;
      cap = next;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) break;
  }
  if (ferror(f)) {
    snprintf(why, why_size, "%s", strerror(errno ? errno : EIO));
    goto fail;
  }
  if (len > max) {
    snprintf(why, why_size, "larger than %zu MiB", max / (1024 * 1024));
    goto fail;
  }
  fclose(f);
  if (!buf) { /* empty file */
    buf = malloc(1);
    if (!buf) {
      snprintf(why, why_size, "out of memory");
      return NULL;
    }
  }
  buf[len] = '\0';
  *out_size = len;
  return buf;

fail:
  free(buf);
  fclose(f);
  return NULL;
}
