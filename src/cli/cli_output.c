/* cli_output.c: a call's results on stdout or in an --out file (see cli_output.h). */
#include "cli_output.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv_crypto.h"
#include "valtext.h"

/* Writes len bytes to `path`; false with the reason in why if it cannot. */
static bool write_file(const char *path, const uint8_t *data, size_t len, char *why, size_t why_size) {
  FILE *f = fopen(path, "wb");
  bool ok = f != NULL && (len == 0 || fwrite(data, 1, len, f) == len);
  int saved = errno;
  if (f && fclose(f) != 0 && ok) {
    ok = false;
    saved = errno;
  }
  if (!ok) snprintf(why, why_size, "cannot write '%s': %s", path, strerror(saved ? saved : EIO));
  return ok;
}

cli_output_status cli_print_values(const hv_value *values, size_t count, const char *out_file, char *why,
                                   size_t why_size) {
  if (why_size > 0) why[0] = '\0';
  if (out_file) {
    if (count != 1 || hv_type_is_numeric(values[0].type) || !hv_type_is_valid(values[0].type)) {
      snprintf(why, why_size, "cannot write '%s': not exactly one string or bytes result", out_file);
      return CLI_OUTPUT_FILE;
    }
    return write_file(out_file, values[0].data, values[0].len, why, why_size) ? CLI_OUTPUT_OK
                                                                               : CLI_OUTPUT_FILE;
  }
  for (size_t k = 0; k < count; k++) {
    const hv_value *v = &values[k];
    if (v->type == HV_TYPE_STRING) {
      if (v->len > 0) fwrite(v->data, 1, v->len, stdout);
      putchar('\n');
    } else if (v->type == HV_TYPE_BYTES) {
      char *b64 = NULL;
      hv_crypto_err cerr;
      if (hv_crypto_base64_encode(v->data, v->len, &b64, NULL, &cerr) != HV_CRYPTO_OK) {
        snprintf(why, why_size, "cannot encode the result: %s", cerr.message);
        return CLI_OUTPUT_NO_MEMORY;
      }
      printf("%s\n", b64);
      free(b64);
    } else {
      char text[VALTEXT_FORMAT_MAX];
      valtext_format(&v->num, text, sizeof text);
      printf("%s\n", text);
    }
  }
  return CLI_OUTPUT_OK;
}
