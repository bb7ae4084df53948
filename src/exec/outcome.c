/* outcome.c: protocol error codes and the engine-status mapping (see outcome.h). */
#include "outcome.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  int http;
} outcome_table[] = {
#define OUTCOME__ROW(name, code, http) {code, http},
    OUTCOME_CODE_MAP(OUTCOME__ROW)
#undef OUTCOME__ROW
};

#define OUTCOME_COUNT (sizeof outcome_table / sizeof outcome_table[0])

const char *outcome_code_name(outcome_code code) {
  return (unsigned)code < OUTCOME_COUNT ? outcome_table[code].name : "INTERNAL_ERROR";
}

int outcome_http_status(outcome_code code) {
  return (unsigned)code < OUTCOME_COUNT ? outcome_table[code].http : 500;
}

outcome_code outcome_from_status(hvw_status status) {
  switch (status) {
    case HVW_OK: return OUTCOME_OK;
    case HVW_MALFORMED:
    case HVW_INVALID:
    case HVW_IMPL_LIMIT:
    case HVW_UNLINKABLE: return OUTCOME_INVALID_WASM;
    case HVW_TRAP: return OUTCOME_EXECUTION_TRAP;
    case HVW_TIMEOUT: return OUTCOME_EXECUTION_TIMEOUT;
    case HVW_GAS_EXHAUSTED: return OUTCOME_GAS_EXHAUSTED;
    case HVW_MEMORY_EXCEEDED: return OUTCOME_MEMORY_EXCEEDED;
    case HVW_NOT_FOUND: return OUTCOME_FUNCTION_NOT_FOUND;
    case HVW_BAD_ARGUMENTS: return OUTCOME_INVALID_ARGUMENTS;
    case HVW_OUT_OF_HOST_MEMORY: break;
  }
  return OUTCOME_INTERNAL_ERROR;
}

outcome_code outcome_from_cabi(hv_cabi_status status, const hvw_error *err) {
  switch (status) {
    case HV_CABI_OK: return OUTCOME_OK;
    case HV_CABI_SIGNATURE_MISMATCH:
    case HV_CABI_NO_REALLOC: return OUTCOME_INVALID_ARGUMENTS;
    case HV_CABI_BAD_POINTER:
    case HV_CABI_MISALIGNED:
    case HV_CABI_BAD_UTF8:
    case HV_CABI_RESULT_TOO_LARGE: return OUTCOME_EXECUTION_TRAP;
    case HV_CABI_ENGINE: return err ? outcome_from_status(err->status) : OUTCOME_INTERNAL_ERROR;
    case HV_CABI_HOST_MEMORY: break;
  }
  return OUTCOME_INTERNAL_ERROR;
}

char *outcome_describe(const hvw_error *err, char *buf, size_t size) {
  if (size == 0) return buf;
  buf[0] = '\0';
  /* The engine's message is a fixed array; never trust it to be terminated. */
  size_t len = strnlen(err->message, sizeof err->message);
  if (err->status == HVW_TRAP) {
    const char *trap = hvw_trap_message(err->trap);
    size_t trap_len = strlen(trap);
    if (len == 0 || (len == trap_len && memcmp(err->message, trap, len) == 0))
      snprintf(buf, size, "%s", trap);
    else if (len > trap_len && memcmp(err->message, trap, trap_len) == 0)
      snprintf(buf, size, "%.*s", (int)len, err->message); /* already starts with the trap text */
    else
      snprintf(buf, size, "%s (%.*s)", trap, (int)len, err->message);
  } else if (len > 0) {
    snprintf(buf, size, "%.*s", (int)len, err->message);
  } else {
    snprintf(buf, size, "%s", hvw_status_text(err->status));
  }
  return buf;
}

/* Copies a length-delimited name for a one-line message: at most 64 bytes, controls escaped. */
static void outcome_quote(const char *s, size_t len, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; i < len && i < 64 && o + 5 < size; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f || c == '\\') o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
    else out[o++] = (char)c;
  }
  if (len > 64 && o + 4 < size) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

bool outcome_sandbox_check(const hvw_module *module, char *buf, size_t size) {
  if (hvw_module_import_count(module) == 0) return true;
  static const char *const kinds[] = {"function", "table", "memory", "global"};
  hvw_import_info info;
  if (!hvw_module_import(module, 0, &info)) {
    snprintf(buf, size, "module has imports; imports are not allowed");
    return false;
  }
  char mod[300], name[300];
  outcome_quote(info.module_name, info.module_name_len, mod, sizeof mod);
  outcome_quote(info.name, info.name_len, name, sizeof name);
  const char *kind = (unsigned)info.type.kind < 4 ? kinds[info.type.kind] : "extern";
  snprintf(buf, size, "module imports %s.%s (%s); imports are not allowed", mod, name, kind);
  return false;
}
