/*
 * code_int.h: the translated-code format that code.c produces and interp.c runs.
 *
 * A translated function is a stream of 32-bit units. Every operation starts with the address of its
 * handler in the interpreter (WASM_HANDLER_UNITS units, low half first: direct threading, the next
 * handler is one load and an indirect jump away, no opcode table), followed by its operands. The
 * code is therefore only meaningful in the process that translated it.
 *
 * The frame of a call is an array of 64-bit cells:
 *
 *     fp[0 .. param_cells)                        parameters; results are written here on return
 *     fp[param_cells .. +local_cells)             declared locals (zeroed at entry)
 *     fp[... .. +const_count)                     the function's constants (copied at entry)
 *     fp[temps_base .. frame_cells)               operand-stack temporaries
 *
 * The operand-stack height is static at every instruction, so each value on the WebAssembly stack
 * has a fixed cell (its "natural slot"); an operation names its source and destination cells as
 * frame offsets (ADD_I32 dst, a, b). A value produced by local.get or a constant is not copied:
 * the consuming operation reads the local's or the constant's cell directly.
 *
 * Calls do not copy arguments: the caller evaluates them into consecutive temporaries at the top
 * of its operand stack and the callee's frame starts at the first of them (the frames overlap).
 * The callee writes its results to fp[0..), where the caller finds them as the call's results.
 *
 * Branch targets are offsets (in units, signed) from the start of the branching operation. Each
 * control-flow edge carries the gas cost of the straight-line code it leads to (until the next
 * branch), so gas is charged once per basic block, inside the branch operations (see gas.h).
 *
 * Operand layouts, in units after the handler's ("d" destination cell, "a"/"b"/"c" source
 * cells, "rel" branch offset, "cost" gas of the block an edge leads to):
 *   unary             d a
 *   binary            d a b
 *   COPY              d a                    fp[d] = fp[a]
 *   MOVE_N            d a n                  n cells from a to d (d < a)
 *   BR, BR_BACK       rel cost
 *   BR_IF(_BACK), BR_UNLESS(_BACK)           c rel cost_taken cost_fallthrough
 *   BR_<cmp>_I32/I64(_BACK)                  a b rel cost_taken cost_fallthrough
 *   BR_TABLE          index n (rel cost) x (n + 1)   the last pair is the default
 *   RETURN0 / RETURN1 a / RETURN_N a n        results from cells a.. to fp[0..)
 *   CALL              arg funcdecl(2 units: a const wasm_funcdecl * of the module, low then high)
 *   CALL_IMPORT       arg func_index
 *   CALL_INDIRECT     arg index type_index table_index
 *   SELECT            d a b c
 *   GLOBAL_GET        d global ; GLOBAL_SET a global
 *   LOAD_*            d addr offset ; STORE_* addr value offset
 *   LOAD_*_X          d a b offset           address (u32)(a + b) + offset (a fused i32.add)
 *   STORE_*_X         a b value offset
 *   ADD_BR_<cmp>_I32(_BACK)   d a b c rel cost_taken cost_fallthrough
 *                     d = a + b (i32), then branch if d <cmp> c (a fused loop counter)
 *   ADD_BR_IF(_BACK), ADD_BR_UNLESS(_BACK)    d a b rel cost_taken cost_fallthrough
 *   MEMORY_SIZE d ; MEMORY_GROW d delta ; MEMORY_INIT dst src n seg ; DATA_DROP seg
 *   MEMORY_COPY dst src n ; MEMORY_FILL dst value n
 *   TABLE_GET d index table ; TABLE_SET index value table ; TABLE_SIZE d table
 *   TABLE_GROW d init n table ; TABLE_FILL index value n table
 *   TABLE_COPY dst src n dst_table src_table ; TABLE_INIT dst src n table seg ; ELEM_DROP seg
 *   REF_FUNC d func_index
 * The "_BACK" forms are loop back-edges: they also check the interrupt flag.
 */
#ifndef WASM_CODE_INT_H
#define WASM_CODE_INT_H

#include "module_int.h"

/* Integer compares that can fuse with br_if / if; X(name). */
#define WASM_CMP_LIST(X) X(EQ) X(NE) X(LT_S) X(LT_U) X(GT_S) X(GT_U) X(LE_S) X(LE_U) X(GE_S) X(GE_U)

/*
 * Simple numeric operations: X(name, wasm opcode (0xFC00 | n for the 0xFC prefix), operand type,
 * second operand type or 0 for unary operations, result type). code.c maps opcodes with this table;
 * interp.c defines one handler per name.
 */
#define WASM_NUMERIC_LIST(X)                                                                  \
  X(I32_EQZ, 0x45, I32, 0, I32) X(I32_EQ, 0x46, I32, I32, I32) X(I32_NE, 0x47, I32, I32, I32)   \
  X(I32_LT_S, 0x48, I32, I32, I32) X(I32_LT_U, 0x49, I32, I32, I32)                           \
  X(I32_GT_S, 0x4A, I32, I32, I32) X(I32_GT_U, 0x4B, I32, I32, I32)                           \
  X(I32_LE_S, 0x4C, I32, I32, I32) X(I32_LE_U, 0x4D, I32, I32, I32)                           \
  X(I32_GE_S, 0x4E, I32, I32, I32) X(I32_GE_U, 0x4F, I32, I32, I32)                           \
  X(I64_EQZ, 0x50, I64, 0, I32) X(I64_EQ, 0x51, I64, I64, I32) X(I64_NE, 0x52, I64, I64, I32)   \
  X(I64_LT_S, 0x53, I64, I64, I32) X(I64_LT_U, 0x54, I64, I64, I32)                           \
  X(I64_GT_S, 0x55, I64, I64, I32) X(I64_GT_U, 0x56, I64, I64, I32)                           \
  X(I64_LE_S, 0x57, I64, I64, I32) X(I64_LE_U, 0x58, I64, I64, I32)                           \
  X(I64_GE_S, 0x59, I64, I64, I32) X(I64_GE_U, 0x5A, I64, I64, I32)                           \
  X(F32_EQ, 0x5B, F32, F32, I32) X(F32_NE, 0x5C, F32, F32, I32) X(F32_LT, 0x5D, F32, F32, I32)  \
  X(F32_GT, 0x5E, F32, F32, I32) X(F32_LE, 0x5F, F32, F32, I32) X(F32_GE, 0x60, F32, F32, I32)  \
  X(F64_EQ, 0x61, F64, F64, I32) X(F64_NE, 0x62, F64, F64, I32) X(F64_LT, 0x63, F64, F64, I32)  \
  X(F64_GT, 0x64, F64, F64, I32) X(F64_LE, 0x65, F64, F64, I32) X(F64_GE, 0x66, F64, F64, I32)  \
  X(I32_CLZ, 0x67, I32, 0, I32) X(I32_CTZ, 0x68, I32, 0, I32) X(I32_POPCNT, 0x69, I32, 0, I32)  \
  X(I32_ADD, 0x6A, I32, I32, I32) X(I32_SUB, 0x6B, I32, I32, I32)                             \
  X(I32_MUL, 0x6C, I32, I32, I32) X(I32_DIV_S, 0x6D, I32, I32, I32)                           \
  X(I32_DIV_U, 0x6E, I32, I32, I32) X(I32_REM_S, 0x6F, I32, I32, I32)                         \
  X(I32_REM_U, 0x70, I32, I32, I32) X(I32_AND, 0x71, I32, I32, I32)                           \
  X(I32_OR, 0x72, I32, I32, I32) X(I32_XOR, 0x73, I32, I32, I32)                              \
  X(I32_SHL, 0x74, I32, I32, I32) X(I32_SHR_S, 0x75, I32, I32, I32)                           \
  X(I32_SHR_U, 0x76, I32, I32, I32) X(I32_ROTL, 0x77, I32, I32, I32)                          \
  X(I32_ROTR, 0x78, I32, I32, I32)                                                            \
  X(I64_CLZ, 0x79, I64, 0, I64) X(I64_CTZ, 0x7A, I64, 0, I64) X(I64_POPCNT, 0x7B, I64, 0, I64)  \
  X(I64_ADD, 0x7C, I64, I64, I64) X(I64_SUB, 0x7D, I64, I64, I64)                             \
  X(I64_MUL, 0x7E, I64, I64, I64) X(I64_DIV_S, 0x7F, I64, I64, I64)                           \
  X(I64_DIV_U, 0x80, I64, I64, I64) X(I64_REM_S, 0x81, I64, I64, I64)                         \
  X(I64_REM_U, 0x82, I64, I64, I64) X(I64_AND, 0x83, I64, I64, I64)                           \
  X(I64_OR, 0x84, I64, I64, I64) X(I64_XOR, 0x85, I64, I64, I64)                              \
  X(I64_SHL, 0x86, I64, I64, I64) X(I64_SHR_S, 0x87, I64, I64, I64)                           \
  X(I64_SHR_U, 0x88, I64, I64, I64) X(I64_ROTL, 0x89, I64, I64, I64)                          \
  X(I64_ROTR, 0x8A, I64, I64, I64)                                                            \
  X(F32_ABS, 0x8B, F32, 0, F32) X(F32_NEG, 0x8C, F32, 0, F32) X(F32_CEIL, 0x8D, F32, 0, F32)    \
  X(F32_FLOOR, 0x8E, F32, 0, F32) X(F32_TRUNC, 0x8F, F32, 0, F32)                             \
  X(F32_NEAREST, 0x90, F32, 0, F32) X(F32_SQRT, 0x91, F32, 0, F32)                            \
  X(F32_ADD, 0x92, F32, F32, F32) X(F32_SUB, 0x93, F32, F32, F32)                             \
  X(F32_MUL, 0x94, F32, F32, F32) X(F32_DIV, 0x95, F32, F32, F32)                             \
  X(F32_MIN, 0x96, F32, F32, F32) X(F32_MAX, 0x97, F32, F32, F32)                             \
  X(F32_COPYSIGN, 0x98, F32, F32, F32)                                                        \
  X(F64_ABS, 0x99, F64, 0, F64) X(F64_NEG, 0x9A, F64, 0, F64) X(F64_CEIL, 0x9B, F64, 0, F64)    \
  X(F64_FLOOR, 0x9C, F64, 0, F64) X(F64_TRUNC, 0x9D, F64, 0, F64)                             \
  X(F64_NEAREST, 0x9E, F64, 0, F64) X(F64_SQRT, 0x9F, F64, 0, F64)                            \
  X(F64_ADD, 0xA0, F64, F64, F64) X(F64_SUB, 0xA1, F64, F64, F64)                             \
  X(F64_MUL, 0xA2, F64, F64, F64) X(F64_DIV, 0xA3, F64, F64, F64)                             \
  X(F64_MIN, 0xA4, F64, F64, F64) X(F64_MAX, 0xA5, F64, F64, F64)                             \
  X(F64_COPYSIGN, 0xA6, F64, F64, F64)                                                        \
  X(I32_WRAP_I64, 0xA7, I64, 0, I32)                                                          \
  X(I32_TRUNC_F32_S, 0xA8, F32, 0, I32) X(I32_TRUNC_F32_U, 0xA9, F32, 0, I32)                 \
  X(I32_TRUNC_F64_S, 0xAA, F64, 0, I32) X(I32_TRUNC_F64_U, 0xAB, F64, 0, I32)                 \
  X(I64_EXTEND_I32_S, 0xAC, I32, 0, I64) X(I64_EXTEND_I32_U, 0xAD, I32, 0, I64)               \
  X(I64_TRUNC_F32_S, 0xAE, F32, 0, I64) X(I64_TRUNC_F32_U, 0xAF, F32, 0, I64)                 \
  X(I64_TRUNC_F64_S, 0xB0, F64, 0, I64) X(I64_TRUNC_F64_U, 0xB1, F64, 0, I64)                 \
  X(F32_CONVERT_I32_S, 0xB2, I32, 0, F32) X(F32_CONVERT_I32_U, 0xB3, I32, 0, F32)             \
  X(F32_CONVERT_I64_S, 0xB4, I64, 0, F32) X(F32_CONVERT_I64_U, 0xB5, I64, 0, F32)             \
  X(F32_DEMOTE_F64, 0xB6, F64, 0, F32)                                                        \
  X(F64_CONVERT_I32_S, 0xB7, I32, 0, F64) X(F64_CONVERT_I32_U, 0xB8, I32, 0, F64)             \
  X(F64_CONVERT_I64_S, 0xB9, I64, 0, F64) X(F64_CONVERT_I64_U, 0xBA, I64, 0, F64)             \
  X(F64_PROMOTE_F32, 0xBB, F32, 0, F64)                                                       \
  X(I32_EXTEND8_S, 0xC0, I32, 0, I32) X(I32_EXTEND16_S, 0xC1, I32, 0, I32)                    \
  X(I64_EXTEND8_S, 0xC2, I64, 0, I64) X(I64_EXTEND16_S, 0xC3, I64, 0, I64)                    \
  X(I64_EXTEND32_S, 0xC4, I64, 0, I64)                                                        \
  X(I32_TRUNC_SAT_F32_S, 0xFC00, F32, 0, I32) X(I32_TRUNC_SAT_F32_U, 0xFC01, F32, 0, I32)     \
  X(I32_TRUNC_SAT_F64_S, 0xFC02, F64, 0, I32) X(I32_TRUNC_SAT_F64_U, 0xFC03, F64, 0, I32)     \
  X(I64_TRUNC_SAT_F32_S, 0xFC04, F32, 0, I64) X(I64_TRUNC_SAT_F32_U, 0xFC05, F32, 0, I64)     \
  X(I64_TRUNC_SAT_F64_S, 0xFC06, F64, 0, I64) X(I64_TRUNC_SAT_F64_U, 0xFC07, F64, 0, I64)

/* Loads and stores: X(name, wasm opcode, bytes accessed, value type). */
#define WASM_LOAD_LIST(X)                                                                   \
  X(LOAD_I32, 0x28, 4, I32) X(LOAD_I64, 0x29, 8, I64) X(LOAD_F32, 0x2A, 4, F32)              \
  X(LOAD_F64, 0x2B, 8, F64) X(LOAD_I32_8S, 0x2C, 1, I32) X(LOAD_I32_8U, 0x2D, 1, I32)         \
  X(LOAD_I32_16S, 0x2E, 2, I32) X(LOAD_I32_16U, 0x2F, 2, I32) X(LOAD_I64_8S, 0x30, 1, I64)    \
  X(LOAD_I64_8U, 0x31, 1, I64) X(LOAD_I64_16S, 0x32, 2, I64) X(LOAD_I64_16U, 0x33, 2, I64)    \
  X(LOAD_I64_32S, 0x34, 4, I64) X(LOAD_I64_32U, 0x35, 4, I64)
#define WASM_STORE_LIST(X)                                                                  \
  X(STORE_I32, 0x36, 4, I32) X(STORE_I64, 0x37, 8, I64) X(STORE_F32, 0x38, 4, F32)           \
  X(STORE_F64, 0x39, 8, F64) X(STORE_I32_8, 0x3A, 1, I32) X(STORE_I32_16, 0x3B, 2, I32)       \
  X(STORE_I64_8, 0x3C, 1, I64) X(STORE_I64_16, 0x3D, 2, I64) X(STORE_I64_32, 0x3E, 4, I64)

/* Every operation of the translated code; X(name). */
#define WASM_OP_LIST(X)                                                                     \
  X(UNREACHABLE) X(COPY) X(MOVE_N)                                                          \
  X(BR) X(BR_BACK) X(BR_IF) X(BR_IF_BACK) X(BR_UNLESS) X(BR_UNLESS_BACK) X(BR_TABLE)        \
  X(RETURN0) X(RETURN1) X(RETURN_N)                                                         \
  X(CALL) X(CALL_IMPORT) X(CALL_INDIRECT)                                                   \
  X(SELECT) X(GLOBAL_GET) X(GLOBAL_SET)                                                     \
  X(MEMORY_SIZE) X(MEMORY_GROW) X(MEMORY_INIT) X(DATA_DROP) X(MEMORY_COPY) X(MEMORY_FILL)   \
  X(TABLE_GET) X(TABLE_SET) X(TABLE_SIZE) X(TABLE_GROW) X(TABLE_FILL) X(TABLE_COPY)         \
  X(TABLE_INIT) X(ELEM_DROP) X(REF_FUNC)

typedef enum wasm_op {
#define WASM__OP_ENUM(name) WASM_OP_##name,
  WASM_OP_LIST(WASM__OP_ENUM)
#define WASM__OP_ENUM_N(name, ...) WASM_OP_##name,
  WASM_NUMERIC_LIST(WASM__OP_ENUM_N)
  WASM_LOAD_LIST(WASM__OP_ENUM_N)
  WASM_STORE_LIST(WASM__OP_ENUM_N)
#define WASM__OP_ENUM_BR(name) WASM_OP_BR_##name##_I32, WASM_OP_BR_##name##_I32_BACK, \
                               WASM_OP_BR_##name##_I64, WASM_OP_BR_##name##_I64_BACK,
  WASM_CMP_LIST(WASM__OP_ENUM_BR)
#define WASM__OP_ENUM_X(name, ...) WASM_OP_##name##_X,
  WASM_LOAD_LIST(WASM__OP_ENUM_X)
  WASM_STORE_LIST(WASM__OP_ENUM_X)
#define WASM__OP_ENUM_ADD_BR(name) WASM_OP_ADD_BR_##name##_I32, WASM_OP_ADD_BR_##name##_I32_BACK,
  WASM_CMP_LIST(WASM__OP_ENUM_ADD_BR)
  WASM_OP_ADD_BR_IF, WASM_OP_ADD_BR_IF_BACK, WASM_OP_ADD_BR_UNLESS, WASM_OP_ADD_BR_UNLESS_BACK,
#undef WASM__OP_ENUM_X
#undef WASM__OP_ENUM_ADD_BR
#undef WASM__OP_ENUM
#undef WASM__OP_ENUM_N
#undef WASM__OP_ENUM_BR
  WASM_OP_COUNT
} wasm_op;

/* An immutable translated function, shared by every instance of its module. */
struct wasm_code {
  const uint32_t *start;  /* first operation */
  uint32_t param_cells;
  uint32_t result_cells;
  uint32_t init_cells;    /* local_cells + const_count: copied from `init` at entry */
  uint32_t frame_cells;   /* cells the frame needs from fp, temporaries included */
  uint32_t entry_cost;    /* gas of the function's first basic block */
  uint32_t func_index;
  uint32_t local_cells;
  uint32_t const_count;
  const wasm_functype *type;
  const wasm_cell *init;  /* init_cells cells: zeros for the locals, then the constants */
  size_t units;           /* length of the code stream */
  size_t bytes;           /* whole allocation, for stats */
};

/* Units taken by a handler address at the start of every operation. */
#define WASM_HANDLER_UNITS 2

/*
 * interp.c: handler addresses, indexed by wasm_op. The table is a constant inside the interpreter
 * function (labels as values); this returns it.
 */
const void *const *wasm__interp_handlers(void);

/* code.c: the name of an operation ("I32_ADD"), and its length in units including the handler
 * (the operation at `p` is needed for the variable-length ones). */
const char *wasm__op_name(wasm_op op);
uint32_t wasm__op_units(wasm_op op, const uint32_t *p);
/* code.c: the operation that starts at `p`, or WASM_OP_COUNT if none does. */
wasm_op wasm__op_at(const uint32_t *p);

#endif /* WASM_CODE_INT_H */
