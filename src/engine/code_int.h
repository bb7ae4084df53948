/*
 * code_int.h: the translated-code format that code.c produces and interp.c runs.
 *
 * A translated function is a stream of 32-bit units. Every operation starts with the address of its
 * handler in the interpreter (HVW_HANDLER_UNITS units, low half first: direct threading, the next
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
 * frame offsets (I32_ADD dst, a, b). A value produced by local.get or a constant is not copied:
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
 * Every operation and its length are rows of opcodes.def. Operand layouts, in units after the
 * handler's ("d" destination cell, "a"/"b"/"c" source cells, "rel" branch offset, "cost" gas of
 * the block an edge leads to):
 *   unary             d a
 *   binary            d a b
 *   COPY              d a                    fp[d] = fp[a]
 *   MOVE_N            d a n                  n cells from a to d (memmove: they may overlap)
 *   BR, BR_BACK       rel cost
 *   BR_IF(_BACK), BR_UNLESS(_BACK)           c rel cost_taken cost_fallthrough
 *   BR_<cmp>_I32/I64(_BACK)                  a b rel cost_taken cost_fallthrough
 *   BR_TABLE          index n (rel cost) x (n + 1)   the last pair is the default
 *   RETURN0 / RETURN1 a / RETURN_N a n        results from cells a.. to fp[0..)
 *   CALL              arg funcdecl(2 units: a const hvw_funcdecl * of the module, low then high)
 *   CALL_IMPORT       arg func_index
 *   CALL_INDIRECT     arg index type_index table_index
 *   SELECT            d a b c                SELECT_V128 the same for two-cell values
 *   v128 operations   as unary/binary, each operand its two cells; lane operations: d a lane
 *                     (extract), d a b lane (replace); V128_BITSELECT d a b c; I8X16_SHUFFLE d a b
 *                     and the 16 lane indices in 4 units; lane loads d addr v offset lane, lane stores
 *                     addr v offset lane
 *   GLOBAL_GET        d global ; GLOBAL_SET a global    (and their _V128 forms: two cells)
 *   loads (I32_LOAD ...)    d addr offset ; stores (I32_STORE ...) addr value offset
 *   their _X forms    d a b offset ; a b value offset: address (u32)(a + b) + offset (a fused i32.add)
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
#ifndef HVW_CODE_INT_H
#define HVW_CODE_INT_H

#include "module_int.h"

/* An opcode after a prefix byte: HVW_FC(n) is 0xFC n, HVW_FD(n) (SIMD) 0xFD n. */
#define HVW_PREFIXED(prefix, n) ((uint32_t)(prefix) << 16 | (uint32_t)(n))
#define HVW_FC(n) HVW_PREFIXED(0xFC, n)
#define HVW_FD(n) HVW_PREFIXED(0xFD, n)

/* The type columns of opcodes.def. */
#define HVW__TY_0 0
#define HVW__TY_I32 HVW_TYPE_I32
#define HVW__TY_I64 HVW_TYPE_I64
#define HVW__TY_F32 HVW_TYPE_F32
#define HVW__TY_F64 HVW_TYPE_F64
#define HVW__TY_V128 HVW_TYPE_V128
#define HVW__TY_FUNCREF HVW_TYPE_FUNCREF
#define HVW__TY_EXTERNREF HVW_TYPE_EXTERNREF

/* The operand units of BR_TABLE, which depend on its table: see hvw__op_units. */
#define HVW_OP_UNITS_VARIABLE 0xFFu

/* The `ops` column of opcodes.def: X(NAME, operand units) for each operation an instruction owns. */
#define HVW__OPS_NONE(X, NAME, in2)
#define HVW__OPS_U0(X, NAME, in2) X(NAME, 0)
#define HVW__OPS_U1(X, NAME, in2) X(NAME, 1)
#define HVW__OPS_U2(X, NAME, in2) X(NAME, 2)
#define HVW__OPS_U3(X, NAME, in2) X(NAME, 3)
#define HVW__OPS_U4(X, NAME, in2) X(NAME, 4)
#define HVW__OPS_U5(X, NAME, in2) X(NAME, 5)
#define HVW__OPS_U7(X, NAME, in2) X(NAME, 7)
#define HVW__OPS_NUM(X, NAME, in2) X(NAME, (HVW__TY_##in2 ? 3 : 2))
#define HVW__OPS_MEM(X, NAME, in2) X(NAME, 3) X(NAME##_X, 4)
#define HVW__OPS_VAR(X, NAME, in2) X(NAME, HVW_OP_UNITS_VARIABLE)

/* Every operation of the translated code, in the order of opcodes.def. */
typedef enum hvw_op {
#define HVW_EACH_OP(NAME, units) HVW_OP_##NAME,
#include "each_op.h"
  HVW_OP_COUNT
} hvw_op;

/* An immutable translated function, shared by every instance of its module. */
struct hvw_code {
  const uint32_t *start;  /* first operation */
  uint32_t param_cells;
  uint32_t result_cells;
  uint32_t init_cells;    /* local_cells + const_count: copied from `init` at entry */
  uint32_t frame_cells;   /* cells the frame needs from fp, temporaries included */
  uint32_t entry_cost;    /* gas of the function's first basic block */
  uint32_t func_index;
  uint32_t local_cells;
  uint32_t const_count;
  const hvw_functype *type;
  const hvw_cell *init;  /* init_cells cells: zeros for the locals, then the constants */
  size_t units;           /* length of the code stream */
  size_t bytes;           /* whole allocation, for stats */
};

/* Units taken by a handler address at the start of every operation. */
#define HVW_HANDLER_UNITS 2

/*
 * interp.c: handler addresses, indexed by hvw_op. The table is a constant inside the interpreter
 * function (labels as values); this returns it.
 */
const void *const *hvw__interp_handlers(void);

/* code.c: the name of an operation ("I32_ADD"), and its length in units including the handler
 * (the operation at `p` is needed for the variable-length ones). */
const char *hvw__op_name(hvw_op op);
uint32_t hvw__op_units(hvw_op op, const uint32_t *p);
/* code.c: the operation that starts at `p`, or HVW_OP_COUNT if none does. */
hvw_op hvw__op_at(const uint32_t *p);

#endif /* HVW_CODE_INT_H */
