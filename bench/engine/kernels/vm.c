// bench: n=5000000 check=20000
/* vm: a bytecode interpreter (stack machine, switch dispatch) running a program that sums a
 * Collatz-like sequence. Branchy: an indirect jump (br_table) per bytecode. */
#include "common.h"

enum op {
  OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_AND, OP_SHR, OP_DUP, OP_DROP,
  OP_JZ, OP_JMP, OP_LT, OP_XOR, OP_INC, OP_HALT
};

#define NREGS 8
#define STACK 64

/* The program, with registers r0 = x, r1 = steps, r2 = acc, r3 = limit:
 *   while (steps < limit) { if (x & 1) x = 3x + 1 else x >>= 1; acc ^= x + steps; steps++; }
 */
static const int32_t program[] = {
  /* 0 */ OP_LOAD, 1, OP_LOAD, 3, OP_LT, OP_JZ, 52,
  /* 7 */ OP_LOAD, 0, OP_PUSH, 1, OP_AND, OP_JZ, 27,
  /* 14 */ OP_LOAD, 0, OP_PUSH, 3, OP_MUL, OP_PUSH, 1, OP_ADD, OP_STORE, 0, OP_JMP, 34, OP_HALT,
  /* 27 */ OP_LOAD, 0, OP_PUSH, 1, OP_SHR, OP_STORE, 0,
  /* 34 */ OP_LOAD, 2, OP_LOAD, 0, OP_LOAD, 1, OP_ADD, OP_XOR, OP_STORE, 2,
  /* 44 */ OP_LOAD, 1, OP_INC, OP_STORE, 1, OP_JMP, 0, OP_HALT,
  /* 52 */ OP_HALT,
};

static BENCH_NOINLINE int64_t run(const int32_t *code, int64_t *regs) {
  int64_t stack[STACK];
  int32_t sp = 0, pc = 0;
  for (;;) {
    int32_t op = code[pc++];
    switch (op) {
      case OP_PUSH: stack[sp++] = code[pc++]; break;
      case OP_LOAD: stack[sp++] = regs[code[pc++] & (NREGS - 1)]; break;
      case OP_STORE: regs[code[pc++] & (NREGS - 1)] = stack[--sp]; break;
      case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
      case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
      case OP_SHR: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] >> (stack[sp] & 63)); break;
      case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
      case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
      case OP_DROP: sp--; break;
      case OP_INC: stack[sp - 1]++; break;
      case OP_JZ: {
        int32_t target = code[pc++];
        if (stack[--sp] == 0) pc = target;
        break;
      }
      case OP_JMP: pc = code[pc]; break;
      case OP_HALT: return regs[2];
      default: return -1;
    }
    if (sp < 0 || sp >= STACK - 1) return -2;
  }
}

BENCH_EXPORT int64_t bench_main(int32_t n) {
  uint64_t sum = 0;
  // n/1000 runs of 1000 steps each, from different starting points.
  for (int32_t r = 0; r < n / 1000 + 1; r++) {
    int64_t regs[NREGS] = {27 + r, 0, 0, r + 1 < n / 1000 + 1 ? 1000 : n % 1000, 0, 0, 0, 0};
    sum = bench_mix64(sum + (uint64_t)run(program, regs));
  }
  return (int64_t)sum;
}
