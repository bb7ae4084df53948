/*
 * fuzz_decode.c: hvw_module_load (decoder, validator, translator) on arbitrary bytes.
 *
 * A rejection must be one of the load statuses with a terminated message; a module that loads
 * must answer the introspection calls consistently and, when it imports nothing, instantiate and
 * run its exports under small limits (fuzz_run_module) with nothing but clean outcomes.
 */
#include <string.h>

#include "engine_run.h"
#include "fuzz_util.h"
#include "wasm_engine.h"

#define DECODE_GAS 20000

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

static void check_names(const hvw_module *module) {
  uint32_t imports = hvw_module_import_count(module), exports = hvw_module_export_count(module);
  for (uint32_t i = 0; i < imports; i++) {
    hvw_import_info info;
    FUZZ_CHECK(hvw_module_import(module, i, &info), "import %u of %u missing", i, imports);
    FUZZ_CHECK(info.module_name_len == 0 || info.module_name != NULL, "import %u: no module name", i);
    FUZZ_CHECK(info.name_len == 0 || info.name != NULL, "import %u: no name", i);
  }
  hvw_import_info no_import;
  FUZZ_CHECK(!hvw_module_import(module, imports, &no_import), "import past the end");
  for (uint32_t i = 0; i < exports; i++) {
    hvw_export_info info;
    hvw_functype_view type;
    FUZZ_CHECK(hvw_module_export(module, i, &info), "export %u of %u missing", i, exports);
    bool found = hvw_module_find_func_export(module, info.name, info.name_len, &type);
    FUZZ_CHECK(found == (info.type.kind == HVW_EXTERN_FUNC),
               "find_func_export of '%.*s' (kind %d) says %d", (int)info.name_len, info.name,
               (int)info.type.kind, found);
    if (found)
      FUZZ_CHECK(type.param_count == info.type.func.param_count &&
                     type.result_count == info.type.func.result_count,
                 "export '%.*s': two different types", (int)info.name_len, info.name);
  }
  hvw_export_info no_export;
  FUZZ_CHECK(!hvw_module_export(module, exports, &no_export), "export past the end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  hvw_error err;
  memset(&err, 0x5A, sizeof err); /* the engine must overwrite all of it that matters */
  hvw_module *module = hvw_module_load(data, size, &err);
  if (!module) {
    FUZZ_CHECK(err.status == HVW_MALFORMED || err.status == HVW_INVALID ||
                   err.status == HVW_IMPL_LIMIT || err.status == HVW_OUT_OF_HOST_MEMORY,
               "load failed with status %d", (int)err.status);
    FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message) != NULL, "message not terminated");
    FUZZ_CHECK(err.trap == HVW_TRAP_NONE, "load failure with a trap kind");
    return 0;
  }
  FUZZ_CHECK(err.status == HVW_OK, "loaded, but err says %s", hvw_status_name(err.status));
  check_names(module);
  hvw_module_stats stats;
  hvw_module_get_stats(module, &stats);
  FUZZ_CHECK(stats.hvw_bytes == size, "stats: %zu wasm bytes for %zu", stats.hvw_bytes, size);

  if (hvw_module_import_count(module) == 0) {
    hvw_store_limits limits;
    fuzz_run_log log;
    fuzz_small_limits(&limits, DECODE_GAS);
    fuzz_run_module(module, &limits, fuzz_hash(data, size), &log);
  }
  hvw_module_free(module);
  return 0;
}
