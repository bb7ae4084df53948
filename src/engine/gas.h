/*
 * gas.h: the gas cost table. Versioned: a change to any figure here changes the gas every program
 * uses, so it bumps GAS_TABLE_VERSION (docs/engine.md, "Gas cost table v1").
 *
 * Which figure an instruction costs is the gas column of its row in opcodes.def.
 *
 * How it is charged: code.c sums the costs of the instructions of each basic block at translation
 * time and the interpreter charges the sum once, when control enters the block (on the branch or
 * call that leads there). Per-byte, per-element and per-page costs of bulk operations and of
 * memory.grow are charged at run time by the operation itself, on top of its instruction cost.
 */
#ifndef HVW_GAS_H
#define HVW_GAS_H

#define GAS_TABLE_VERSION 1

/* Every instruction of a function body, `call` and `call_indirect` included (the callee's
 * instructions are charged as the callee runs). */
#define GAS_INSTRUCTION 1u
/* `end` and `else` only delimit blocks: they cost nothing. */
#define GAS_DELIMITER 0u

/* memory.fill / memory.copy / memory.init: per started block of this many bytes. */
#define GAS_BULK_MEMORY_BYTES_PER_UNIT 64u
/* table.fill / table.copy / table.init / table.grow: per element. */
#define GAS_TABLE_ELEMENT 1u
/* memory.grow: per page (64 KiB) actually added. */
#define GAS_MEMORY_GROW_PAGE 1024u

#endif /* HVW_GAS_H */
