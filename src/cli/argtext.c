/* argtext.c: command-line arguments as protocol values (see argtext.h). */
#include "argtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_file.h"
#include "hv_cabi.h"
#include "hv_crypto.h"
#include "valtext.h"

#define ARG_STRING_PREFIX "s:"
#define ARG_BASE64_PREFIX "b64:"
#define ARG_FILE_PREFIX "@"

static const char *const value_messages[] = {
#define CLI_VALUE__TEXT(name, text) text,
    CLI_VALUE_STATUS_MAP(CLI_VALUE__TEXT)
#undef CLI_VALUE__TEXT
};

const char *cli_value_status_message(cli_value_status status) {
  return (unsigned)status < sizeof value_messages / sizeof value_messages[0] ? value_messages[status]
                                                                             : "unknown status";
}

static bool starts_with(const char *text, const char *prefix) {
  return strncmp(text, prefix, strlen(prefix)) == 0;
}

hv_type cli_value_form(const char *text) {
  if (starts_with(text, ARG_STRING_PREFIX)) return HV_TYPE_STRING;
  if (starts_with(text, ARG_BASE64_PREFIX) || starts_with(text, ARG_FILE_PREFIX)) return HV_TYPE_BYTES;
  return 0;
}

cli_value_status cli_value_parse(const char *text, hvw_valtype numeric_type, hv_value *out, uint8_t **owned,
                                 char *why, size_t why_size) {
  if (why_size > 0) why[0] = '\0';

  if (starts_with(text, ARG_STRING_PREFIX)) {
    const char *s = text + strlen(ARG_STRING_PREFIX);
    size_t len = strlen(s);
    if (!hv_cabi_utf8_valid((const uint8_t *)s, len)) {
      snprintf(why, why_size, "%s", cli_value_status_message(CLI_VALUE_BAD_UTF8));
      return CLI_VALUE_BAD_UTF8;
    }
    *out = hv_value_blob(HV_TYPE_STRING, (const uint8_t *)s, len);
    *owned = NULL;
    return CLI_VALUE_OK;
  }

  if (starts_with(text, ARG_BASE64_PREFIX)) {
    const char *b = text + strlen(ARG_BASE64_PREFIX);
    uint8_t *bytes = NULL;
    size_t len = 0;
    hv_crypto_err err;
    hv_crypto_status st = hv_crypto_base64_decode(b, strlen(b), &bytes, &len, &err);
    if (st == HV_CRYPTO_NO_MEMORY) {
      snprintf(why, why_size, "%s", cli_value_status_message(CLI_VALUE_NO_MEMORY));
      return CLI_VALUE_NO_MEMORY;
    }
    if (st != HV_CRYPTO_OK) {
      snprintf(why, why_size, "not valid base64: %s", err.message);
      return CLI_VALUE_BAD_BASE64;
    }
    *out = hv_value_blob(HV_TYPE_BYTES, bytes, len);
    *owned = bytes;
    return CLI_VALUE_OK;
  }

  if (starts_with(text, ARG_FILE_PREFIX)) {
    const char *path = text + strlen(ARG_FILE_PREFIX);
    char reason[128];
    size_t len = 0;
    if (path[0] == '\0') {
      snprintf(why, why_size, "no file name after @");
      return CLI_VALUE_FILE;
    }
    uint8_t *bytes = cli_read_file(path, CLI_VALUE_FILE_MAX, &len, reason, sizeof reason);
    if (!bytes) {
      snprintf(why, why_size, "cannot read '%.200s': %s", path, reason);
      return strcmp(reason, "out of memory") == 0 ? CLI_VALUE_NO_MEMORY : CLI_VALUE_FILE;
    }
    *out = hv_value_blob(HV_TYPE_BYTES, bytes, len);
    *owned = bytes;
    return CLI_VALUE_OK;
  }

  hvw_value v;
  valtext_status st = valtext_parse(numeric_type, text, &v);
  if (st != VALTEXT_OK) {
    const char *tname = hvw_valtype_name(numeric_type);
    snprintf(why, why_size, "not a valid %s: %s", tname ? tname : "value", valtext_status_message(st));
    return CLI_VALUE_BAD_NUMBER;
  }
  *out = hv_value_from_wasm(v);
  *owned = NULL;
  return CLI_VALUE_OK;
}

cli_value_status cli_values_parse(char *const *texts, size_t count, const hvw_functype_view *core, cli_values *out,
                                  size_t *bad_index, char *why, size_t why_size) {
  cli_value_status st = CLI_VALUE_OK;
  *out = (cli_values){0};
  *bad_index = count;
  if (why_size > 0) why[0] = '\0';

  /* The forms alone give the core parameters: count them before anything is read. */
  uint64_t flat = 0;
  for (size_t k = 0; k < count; k++) {
    hv_type form = cli_value_form(texts[k]);
    flat += form ? hv_cabi_flat_count(form) : 1;
  }
  out->flat_count = flat > UINT32_MAX ? UINT32_MAX : (uint32_t)flat;
  if (flat != core->param_count) {
    snprintf(why, why_size, "%s", cli_value_status_message(CLI_VALUE_COUNT));
    return CLI_VALUE_COUNT;
  }

  uint32_t flat_count = out->flat_count;
  out->values = calloc(count ? count : 1, sizeof *out->values);
  out->owned = calloc(count ? count : 1, sizeof *out->owned);
  if (!out->values || !out->owned) {
    st = CLI_VALUE_NO_MEMORY;
    snprintf(why, why_size, "%s", cli_value_status_message(st));
    goto fail;
  }
  uint32_t p = 0;
  for (size_t k = 0; k < count; k++) {
    st = cli_value_parse(texts[k], core->params[p], &out->values[k], &out->owned[k], why, why_size);
    if (st != CLI_VALUE_OK) {
      *bad_index = k;
      goto fail;
    }
    out->count = k + 1;
    p += hv_cabi_flat_count(out->values[k].type);
  }
  return CLI_VALUE_OK;

fail:
  cli_values_free(out);
  out->flat_count = flat_count;
  return st;
}

void cli_values_free(cli_values *values) {
  if (values->owned)
    for (size_t k = 0; k < values->count; k++) free(values->owned[k]);
  free(values->owned);
  free(values->values);
  *values = (cli_values){0};
}

/* "(i32, f64)" */
static void signature_text(const hvw_valtype *types, uint32_t count, char *buf, size_t size) {
  size_t o = (size_t)snprintf(buf, size, "(");
  for (uint32_t k = 0; k < count && o < size; k++) {
    const char *name = hvw_valtype_name(types[k]);
    o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? ", " : "", name ? name : "?");
  }
  if (o < size) snprintf(buf + o, size - o, ")");
}

cli_value_status cli_values_for_call(const char *name, char *const *texts, size_t count,
                                     const hvw_functype_view *core, hv_type result_type, cli_values *out,
                                     char *msg, size_t msg_size) {
  char why[512], sig[256];
  size_t bad = 0;
  cli_value_status st = cli_values_parse(texts, count, core, out, &bad, why, sizeof why);
  if (st == CLI_VALUE_COUNT) {
    bool blobs = false;
    for (size_t k = 0; k < count; k++) blobs = blobs || cli_value_form(texts[k]) != 0;
    signature_text(core->params, core->param_count, sig, sizeof sig);
    if (!blobs)
      snprintf(msg, msg_size, "%s takes %u argument%s %s, got %zu", name, core->param_count,
               core->param_count == 1 ? "" : "s", sig, count);
    else
      snprintf(msg, msg_size,
               "%s takes %u core parameter%s %s; the arguments make %u (a string or bytes argument is two: "
               "ptr, len)",
               name, core->param_count, core->param_count == 1 ? "" : "s", sig, out->flat_count);
    return st;
  }
  if (st == CLI_VALUE_NO_MEMORY) {
    snprintf(msg, msg_size, "%s", cli_value_status_message(st));
    return st;
  }
  if (st == CLI_VALUE_BAD_NUMBER) {
    snprintf(msg, msg_size, "argument %zu ('%.64s') is %s", bad + 1, texts[bad], why);
    return st;
  }
  if (st != CLI_VALUE_OK) {
    snprintf(msg, msg_size, "argument %zu ('%.64s'): %s", bad + 1, texts[bad], why);
    return st;
  }

  hv_type *types = calloc(out->count ? out->count : 1, sizeof *types);
  if (!types) {
    cli_values_free(out);
    snprintf(msg, msg_size, "%s", cli_value_status_message(CLI_VALUE_NO_MEMORY));
    return CLI_VALUE_NO_MEMORY;
  }
  for (size_t k = 0; k < out->count; k++) types[k] = out->values[k].type;
  hv_cabi_status cst = hv_cabi_check(core, types, out->count, result_type, why, sizeof why);
  free(types);
  if (cst != HV_CABI_OK) {
    cli_values_free(out);
    snprintf(msg, msg_size, "%s: %s", name, why);
    return CLI_VALUE_SHAPE;
  }
  return CLI_VALUE_OK;
}
