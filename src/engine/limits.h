/*
 * limits.h: the engine's implementation limits, in one place.
 *
 * Each bound is generous enough for real compiler output (they follow the limits browsers agree on
 * in the WebAssembly JS API) and chosen so that no module can make decoding, validation or
 * translation more than linear in its own size, in time or in memory. A module over a limit is
 * rejected with HVW_IMPL_LIMIT naming the limit. docs/engine.md lists them.
 */
#ifndef HVW_LIMITS_H
#define HVW_LIMITS_H

#define HVW_MAX_MODULE_BYTES (64u << 20)      /* whole binary */
#define HVW_MAX_TYPES 1000000u
#define HVW_MAX_FUNCTIONS 1000000u            /* imported + defined */
#define HVW_MAX_IMPORTS 100000u
#define HVW_MAX_EXPORTS 100000u
#define HVW_MAX_GLOBALS 1000000u
#define HVW_MAX_TABLES 100000u
#define HVW_MAX_MEMORIES 1u                   /* WebAssembly 2.0: one memory */
#define HVW_MAX_ELEM_SEGMENTS 10000000u
#define HVW_MAX_DATA_SEGMENTS 100000u
#define HVW_MAX_PARAMS 1000u
#define HVW_MAX_RESULTS 1000u
#define HVW_MAX_NAME_BYTES 100000u            /* import/export names */
#define HVW_MAX_FUNCTION_BODY_BYTES 7654321u
#define HVW_MAX_LOCALS 50000u                 /* params + declared locals of one function */
#define HVW_MAX_CONTROL_DEPTH 10000u          /* nested blocks/loops/ifs in one body */
#define HVW_MAX_OPERAND_DEPTH 100000u         /* operand stack height in one body */
#define HVW_MAX_BR_TABLE_TARGETS 1000000u
#define HVW_MAX_TABLE_INIT_ELEMENTS 10000000u /* declared table minimum */
#define HVW_MAX_MEMORY_PAGES 65536u           /* 4 GiB, the 32-bit address space */

#endif /* HVW_LIMITS_H */
