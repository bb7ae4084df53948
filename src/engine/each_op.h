/*
 * each_op.h: include with WASM_EACH_OP(NAME, units) defined; it expands once for every operation
 * of the translated code (opcodes.def: the operations instructions own, then the others), in the
 * order of the wasm_op enum, with the operation's operand units. Undefines WASM_EACH_OP.
 * Deliberately without include guards: every inclusion expands the table again.
 */
#define WASM_INSTR(NAME, code, text, imm, translate, in1, in2, out, bytes, ops, gas) \
  WASM__OPS_##ops(WASM_EACH_OP, NAME, in2)
#define WASM_OP_ROW(NAME, units) WASM_EACH_OP(NAME, units)
#include "opcodes.def"
#undef WASM_EACH_OP
