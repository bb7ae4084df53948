/*
 * each_op.h: include with HVW_EACH_OP(NAME, units) defined; it expands once for every operation
 * of the translated code (opcodes.def: the operations instructions own, then the others), in the
 * order of the hvw_op enum, with the operation's operand units. Undefines HVW_EACH_OP.
 * Deliberately without include guards: every inclusion expands the table again.
 */
#define HVW_INSTR(NAME, code, text, imm, translate, in1, in2, out, bytes, ops, gas) \
  HVW__OPS_##ops(HVW_EACH_OP, NAME, in2)
#define HVW_OP_ROW(NAME, units) HVW_EACH_OP(NAME, units)
#include "opcodes.def"
#undef HVW_EACH_OP
