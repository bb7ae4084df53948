/*
 * gen_module.c: writes the C sources of a large, varied module for the translation-throughput
 * benchmark. Usage: gen_module OUTDIR FUNCS PER_FILE
 * Writes OUTDIR/big_NNN.c (PER_FILE functions each) and OUTDIR/big_main.c, which references every
 * function through a table so the linker keeps them all and exports "trivial" and "main".
 * The output depends only on the arguments (fixed LCG seed).
 */
#include <stdio.h>
#include <stdlib.h>

static unsigned long long seed = 0x243f6a8885a308d3ull;

static unsigned rnd(unsigned bound) {
  seed = seed * 6364136223846793005ull + 1442695040888963407ull;
  return (unsigned)(seed >> 33) % bound;
}

/* Each function: int64_t fN(int64_t a). Bodies mix the shapes real programs have. */
static void emit_function(FILE *out, unsigned i) {
  unsigned k1 = rnd(1000) + 3, k2 = rnd(31) + 1, k3 = rnd(7) + 2, shape = rnd(6);
  fprintf(out, "int64_t f%u(int64_t a) {\n", i);
  fprintf(out, "  int64_t x = a * %u + %u;\n  uint32_t u = (uint32_t)a ^ %uu;\n", k1, i, k1 * k2);
  switch (shape) {
    case 0: /* integer loop with a switch */
      fprintf(out,
              "  for (int j = 0; j < %u; j++) {\n"
              "    switch ((u + (uint32_t)j) & 7u) {\n"
              "      case 0: x += j * %u; break;\n"
              "      case 1: x ^= x >> %u; break;\n"
              "      case 2: x -= (int64_t)u; break;\n"
              "      case 3: u = u * 2654435761u + %u; break;\n"
              "      case 4: x = (x << 3) ^ u; break;\n"
              "      case 5: if (u) x /= (int64_t)(u | 1); break;\n"
              "      case 6: u ^= (uint32_t)x; break;\n"
              "      default: x = ~x; break;\n"
              "    }\n"
              "  }\n",
              k3 * 3, k1, k2 % 13 + 1, i);
      break;
    case 1: /* floating point */
      fprintf(out,
              "  double d = (double)a * %u.25, e = %u.5;\n"
              "  for (int j = 0; j < %u; j++) {\n"
              "    d = d * 0.5 + e / (1.0 + (d < 0 ? -d : d));\n"
              "    if (d > %u.0) e -= 1.0; else e += 0.25;\n"
              "  }\n"
              "  x += (int64_t)(d * 1000.0) + (int64_t)e;\n",
              k2, k3, k3 + 2, k1);
      break;
    case 2: /* memory */
      fprintf(out,
              "  for (int j = 0; j < %u; j++) {\n"
              "    uint32_t at = (u + (uint32_t)j * %uu) & 4095u;\n"
              "    g_mem[at] += (uint32_t)x;\n"
              "    x += g_mem[(at * 7u) & 4095u] >> %u;\n"
              "    g_bytes[at & 1023u] = (uint8_t)(x >> 3);\n"
              "  }\n",
              k3 * 2, k1 | 1, k2 % 5);
      break;
    case 3: /* calls to earlier functions and nested conditions */
      if (i >= 3) {
        fprintf(out,
                "  if (a > %u) {\n"
                "    if ((u & 3u) == 1u) x += f%u(a - %u);\n"
                "    else x ^= f%u(a >> 1);\n"
                "  } else if (a < -%u) {\n"
                "    x -= f%u(-a / 2);\n"
                "  }\n",
                k1, i - 1 - rnd(i < 50 ? i - 1 : 50), k1, i - 1 - rnd(i < 50 ? i - 1 : 50), k1,
                i - 1 - rnd(i < 50 ? i - 1 : 50));
      }
      break;
    case 4: /* 64-bit mixing */
      fprintf(out,
              "  uint64_t h = (uint64_t)x;\n"
              "  for (int j = 0; j < %u; j++) {\n"
              "    h ^= h >> %u; h *= 0x9e3779b97f4a7c15ull; h += (uint64_t)__builtin_popcountll(h);\n"
              "    h = (h << %u) | (h >> %u);\n"
              "  }\n"
              "  x = (int64_t)h;\n",
              k3, k2, k2, 64 - k2);
      break;
    default: /* indirect call through the table */
      fprintf(out,
              "  if (a > 0 && a < %u) x += g_table[(uint32_t)(a + %u) %% g_table_len](a - 1);\n",
              k1, i);
      break;
  }
  fprintf(out, "  return x + (int64_t)u;\n}\n\n");
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s OUTDIR FUNCS PER_FILE\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  unsigned funcs = (unsigned)strtoul(argv[2], NULL, 10);
  unsigned per_file = (unsigned)strtoul(argv[3], NULL, 10);
  if (funcs == 0 || per_file == 0 || funcs > 1000000) {
    fprintf(stderr, "bad counts\n");
    return 2;
  }
  char path[4096];
  const char *prelude =
      "#include <stdint.h>\n"
      "extern uint32_t g_mem[4096];\n"
      "extern uint8_t g_bytes[1024];\n"
      "typedef int64_t (*big_fn)(int64_t);\n"
      "extern big_fn const g_table[];\n"
      "extern const uint32_t g_table_len;\n";
  unsigned files = (funcs + per_file - 1) / per_file;
  for (unsigned f = 0; f < files; f++) {
    snprintf(path, sizeof path, "%s/big_%03u.c", dir, f);
    FILE *out = fopen(path, "w");
    if (!out) {
      perror(path);
      return 1;
    }
    fputs(prelude, out);
    for (unsigned i = 0; i < funcs; i++) fprintf(out, "int64_t f%u(int64_t a);\n", i);
    for (unsigned i = f * per_file; i < funcs && i < (f + 1) * per_file; i++) emit_function(out, i);
    if (fclose(out) != 0) {
      perror(path);
      return 1;
    }
  }
  snprintf(path, sizeof path, "%s/big_main.c", dir);
  FILE *out = fopen(path, "w");
  if (!out) {
    perror(path);
    return 1;
  }
  fputs(prelude, out);
  for (unsigned i = 0; i < funcs; i++) fprintf(out, "int64_t f%u(int64_t a);\n", i);
  fprintf(out, "uint32_t g_mem[4096];\nuint8_t g_bytes[1024];\nbig_fn const g_table[] = {\n");
  for (unsigned i = 0; i < funcs; i++) fprintf(out, "  f%u,\n", i);
  fprintf(out,
          "};\nconst uint32_t g_table_len = %u;\n"
          "__attribute__((export_name(\"trivial\"))) int32_t trivial(void) { return 0; }\n"
          "__attribute__((export_name(\"main\"))) int64_t big_main(int32_t n) {\n"
          "  return g_table[(uint32_t)n %% g_table_len](n);\n}\n",
          funcs);
  return fclose(out) == 0 ? 0 : 1;
}
