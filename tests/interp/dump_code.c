/*
 * dump_code: prints the translated code of a module's functions (a tuning and debugging aid; not a
 * test). Usage: dump_code FILE.wasm [FUNC_INDEX]
 */
#include <stdio.h>
#include <stdlib.h>

#include "code_int.h"

static void dump(const struct hvw_module *m, uint32_t fi) {
  const struct hvw_code *c = m->funcs[fi].code;
  if (!c) return;
  printf("func %u: params %u locals %u consts %u frame %u entry_cost %u units %zu\n", fi, c->param_cells,
         c->local_cells, c->const_count, c->frame_cells, c->entry_cost, c->units);
  for (uint32_t k = 0; k < c->const_count; k++)
    printf("  const @%u = 0x%llx\n", c->param_cells + c->local_cells + k,
           (unsigned long long)c->init[c->local_cells + k]);
  const uint32_t *p = c->start, *end = c->start + c->units - 1;
  while (p < end) {
    hvw_op op = hvw__op_at(p);
    uint32_t n = op == HVW_OP_COUNT ? 1 : hvw__op_units(op, p);
    printf("  %5td %-20s", p - c->start, op == HVW_OP_COUNT ? "???" : hvw__op_name(op));
    for (uint32_t i = HVW_HANDLER_UNITS; i < n; i++) printf(" %d", (int32_t)p[i]);
    printf("\n");
    p += n;
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE.wasm [FUNC_INDEX]\n", argv[0]);
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) return perror(argv[1]), 1;
  static uint8_t buf[64 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  hvw_error err;
  hvw_module *m = hvw_module_load(buf, n, &err);
  if (!m) {
    fprintf(stderr, "%s: %s\n", hvw_status_name(err.status), err.message);
    return 1;
  }
  if (argc > 2) {
    dump(m, (uint32_t)strtoul(argv[2], NULL, 0));
  } else {
    for (uint32_t i = 0; i < m->func_count; i++) dump(m, i);
  }
  hvw_module_free(m);
  return 0;
}
