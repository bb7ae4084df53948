#!/usr/bin/env bash
# Engine benchmarks: compute kernels natively and under `hypervisor run`, translation throughput,
# and gas-metering overhead. See bench/engine/README.md.
#
#   bench/engine/run.sh [options] [BUILD_DIR [NOGAS_BUILD_DIR]]
#   bench/engine/run.sh --check          # kernels against wabt only; needs no engine
#
# Exits 1 if any engine (or wabt) result differs from native, or the engine fails on a kernel.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${BENCH_OUT:-$root/bench/out/engine}

usage() {
  cat <<EOF
usage: $0 [options] [BUILD_DIR [NOGAS_BUILD_DIR]]

  BUILD_DIR          build with the engine (default: $root/build); uses BUILD_DIR/src/cli/hypervisor
  NOGAS_BUILD_DIR    build with -DHV_GAS_METERING=OFF for the metering overhead (default:
                     $root/build-nogas; configured and built by this script if it has no binary)

Each kernel is built twice: scalar (\$k.wasm) and with -msimd128 (\$k.simd.wasm); both run.

options:
  --check            validate the kernels with wabt instead of running the engine: no imports,
                     wasm-validate, spectest-interp at small n and wasm2c at full n, both
                     against native
  --reps N           runs per measurement, best taken (default 3)
  --only K1,K2       run only these kernels
  --no-gas           skip the metering-overhead measurement
  --no-simd          skip the -msimd128 builds
  --baseline DIR     also time the scalar kernels on DIR/src/cli/hypervisor (another build, e.g. an
                     older commit's), interleaved with this one's runs: now/baseline ratios
  --no-translation   skip the translation-throughput measurement
  --funcs N          functions in the generated translation module (default 14000, ~5 MB)
  -h, --help         this text
EOF
}

check_mode=0 reps=3 only="" do_gas=1 do_translation=1 funcs=14000 do_simd=1 baseline=""
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check_mode=1 ;;
    --reps) reps=${2:?}; shift ;;
    --only) only=${2:?}; shift ;;
    --no-gas) do_gas=0 ;;
    --no-simd) do_simd=0 ;;
    --baseline) baseline=${2:?}; shift ;;
    --no-translation) do_translation=0 ;;
    --funcs) funcs=${2:?}; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
    *) positional+=("$1") ;;
  esac
  shift
done
[ ${#positional[@]} -le 2 ] || { usage >&2; exit 2; }
case "$reps" in ''|*[!0-9]*|0) echo "--reps wants a positive count" >&2; exit 2 ;; esac
case "$funcs" in ''|*[!0-9]*|0) echo "--funcs wants a positive count" >&2; exit 2 ;; esac
build=${positional[0]:-$root/build}
nogas=${positional[1]:-$root/build-nogas}

cc=${BENCH_CC:-clang}
# Same optimisation and code-generation flags for wasm and native. -fno-math-errno lets
# __builtin_sqrt be one instruction natively too (no libm call for errno).
cflags=(-O2 -ffreestanding -fno-builtin -fno-math-errno -Wall -Wextra -Werror)
# shellcheck disable=SC2054  # the comma belongs to -Wl,
wasm_flags=(--target=wasm32 "${cflags[@]}" -nostdlib -Wl,--no-entry)
# The SIMD builds: the same, and clang may use the fixed-width SIMD of WebAssembly 2.0
# (auto-vectorisation; the kernels have no intrinsics).
simd_flags=("${wasm_flags[@]}" -msimd128)
# Gas budget and timeout far above what the kernels need, so only a real problem stops them.
run_limits=(--gas 1000000000000000 --timeout 3600)

die() { echo "run.sh: $*" >&2; exit 2; }
need() { command -v "$1" >/dev/null || die "$1 not found (run scripts/deps.sh)"; }
for t in "$cc" wasm-ld wasm-validate wasm-objdump awk; do need "$t"; done

# ---- kernels -------------------------------------------------------------------------------

kernels=()
for f in "$here"/kernels/*.c; do
  k=$(basename "$f" .c)
  [ "$k" = libk ] && continue
  if [ -n "$only" ] && [[ ",$only," != *",$k,"* ]]; then continue; fi
  kernels+=("$k")
done
[ ${#kernels[@]} -gt 0 ] || die "no kernels selected"

# `// bench: n=FULL check=SMALL` on the first line of each kernel.
kernel_arg() { sed -n "1s/.*[[:space:]]$2=\([0-9][0-9]*\).*/\1/p" "$here/kernels/$1.c"; }

newer() {  # newer TARGET DEP... : true if TARGET is missing or older than a DEP
  local t=$1; shift
  [ -e "$t" ] || return 0
  local d
  for d in "$@"; do [ "$d" -nt "$t" ] && return 0; done
  return 1
}

# build_wasm K OUT FLAGS...: the kernel's module, validated, self-contained, exporting main.
build_wasm() {
  local k=$1 wasm=$2
  shift 2
  "$cc" "$@" -o "$wasm" "$here/kernels/$k.c" "$here/kernels/libk.c"
  wasm-validate "$wasm"
  # The sandbox policy forbids imports: the module must be self-contained.
  if wasm-objdump -h "$wasm" | grep -q '^ *Import '; then
    wasm-objdump -x -j Import "$wasm" >&2
    die "$(basename "$wasm") imports something"
  fi
  wasm-objdump -x -j Export "$wasm" | grep -q '"main"' || die "$(basename "$wasm") does not export main"
}

# SIMD instructions in a module's code (0 when clang vectorised nothing).
simd_ops() {
  wasm-objdump -d "$1" | grep -cE '[[:space:]](v128|i8x16|i16x8|i32x4|i64x2|f32x4|f64x2)\.' || true
}

build_kernels() {
  mkdir -p "$out"
  local k src deps
  for k in "${kernels[@]}"; do
    src=$here/kernels/$k.c
    deps=("$src" "$here/kernels/common.h" "$here/kernels/libk.c" "$here/driver.c" "$here/run.sh")
    if newer "$out/$k.wasm" "${deps[@]}"; then build_wasm "$k" "$out/$k.wasm" "${wasm_flags[@]}"; fi
    if [ "$do_simd" = 1 ] && newer "$out/$k.simd.wasm" "${deps[@]}"; then
      build_wasm "$k" "$out/$k.simd.wasm" "${simd_flags[@]}"
    fi
    if newer "$out/$k.native" "${deps[@]}"; then
      "$cc" "${cflags[@]}" -c -o "$out/$k.o" "$src"
      "$cc" -O2 -Wall -Wextra -Werror -o "$out/$k.native" "$here/driver.c" "$out/$k.o"
    fi
  done
}

# ---- helpers -------------------------------------------------------------------------------

now_ns() { date +%s%N; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b + 0 < a + 0) ? b : a }'; }
stat_of() { sed -n "s/^$1:[[:space:]]*//p" "$2" | head -n 1; }

# Geometric mean of the numbers on stdin.
geomean() { awk '{ s += log($1); n++ } END { if (n) printf "%.3f", exp(s / n); else print "n/a" }'; }

# spectest-interp prints i64 results as unsigned; bring them back to signed decimal.
to_signed_i64() {
  awk -v v="$1" 'BEGIN {
    if (length(v) < 19 || (length(v) == 19 && v <= "9223372036854775807")) { print v; exit }
    # v >= 2^63: subtract 2^64 digit by digit (awk doubles cannot hold 64-bit integers).
    m = "18446744073709551616"; r = ""; borrow = 0
    while (length(v) < length(m)) v = "0" v
    for (i = length(m); i >= 1; i--) {
      d = substr(m, i, 1) - substr(v, i, 1) - borrow
      borrow = d < 0; if (borrow) d += 10
      r = d r
    }
    sub(/^0+/, "", r); print "-" (r == "" ? "0" : r)
  }'
}

# run_native K N: sets nat_res and nat_s (best of $reps).
run_native() {
  local k=$1 n=$2 i res t
  nat_res="" nat_s=""
  for ((i = 0; i < reps; i++)); do
    res=$("$out/$k.native" "$n" 2>"$out/$k.native.err") || die "$k.native failed"
    t=$(stat_of native_s "$out/$k.native.err")
    [ -z "$nat_res" ] || [ "$res" = "$nat_res" ] || die "$k.native is not deterministic"
    nat_res=$res nat_s=$(min "$nat_s" "$t")
  done
}

# engine_once HV WASM INVOKE ARG...: one run; sets e_res, e_ok, e_err, e_exec_s, e_trans_ms,
# e_gas, e_peak, e_wall_s.
engine_once() {
  local hv=$1 wasm=$2 invoke=$3 t0 t1 errf=$out/engine.err
  shift 3
  t0=$(now_ns)
  if e_res=$("$hv" run "${run_limits[@]}" --invoke "$invoke" --stats "$wasm" "$@" 2>"$errf"); then
    e_ok=1 e_err=""
  else
    e_ok=0 e_err=$(grep -v -E '^(gas_used|execution_ms|translation_ms|peak_memory_bytes):' "$errf" | head -n 1)
  fi
  t1=$(now_ns)
  e_wall_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')
  local ms
  ms=$(stat_of execution_ms "$errf")
  e_exec_s=""
  if [ -n "$ms" ]; then e_exec_s=$(awk -v m="$ms" 'BEGIN { printf "%.6f", m / 1000 }'); fi
  e_trans_ms=$(stat_of translation_ms "$errf")
  e_gas=$(stat_of gas_used "$errf")
  e_peak=$(stat_of peak_memory_bytes "$errf")
}

fmt_s() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.4f", v }' || printf -- "-"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }

# ---- check mode: wabt only -----------------------------------------------------------------

check_kernels() {
  need spectest-interp
  need wasm2c
  local rt_dir=/usr/share/wabt/wasm2c
  [ -f "$rt_dir/wasm-rt-impl.c" ] || die "$rt_dir/wasm-rt-impl.c missing (package wabt)"
  local fail=0 k n small json got want w2c_res w2c_s
  printf "%-11s %9s %10s %10s %7s  %-8s %s\n" kernel n native_s wasm2c_s ratio wasm2c "interp (small n)"
  for k in "${kernels[@]}"; do
    n=$(kernel_arg "$k" n) small=$(kernel_arg "$k" check)
    { [ -n "$n" ] && [ -n "$small" ]; } || die "$k.c: first line must be '// bench: n=N check=N'"

    # wabt's reference interpreter at small n, through a one-command spec-test script.
    json=$out/$k.check.json
    cat >"$json" <<EOF
{"source_filename": "$k.wast", "commands": [
 {"type": "module", "line": 1, "filename": "$k.wasm"},
 {"type": "action", "line": 2, "action": {"type": "invoke", "field": "main",
  "args": [{"type": "i32", "value": "$small"}]}, "expected": [{"type": "i64"}]}]}
EOF
    got=$(cd "$out" && { spectest-interp "$k.check.json" 2>&1 || true; } |
      sed -n 's/^main(.*) => i64:\([0-9]*\)$/\1/p')
    if [ -n "$got" ]; then got=$(to_signed_i64 "$got"); fi
    want=$("$out/$k.native" "$small" 2>/dev/null)
    local interp="ok"
    if [ "$got" != "$want" ]; then interp="DIFFERS (wabt ${got:-none}, native $want)"; fail=1; fi
    if [ "$do_simd" = 1 ]; then # the -msimd128 build, by the same interpreter (wabt runs SIMD)
      sed "s/\"$k.wasm\"/\"$k.simd.wasm\"/" "$json" >"$out/$k.simd.check.json"
      got=$(cd "$out" && { spectest-interp "$k.simd.check.json" 2>&1 || true; } |
        sed -n 's/^main(.*) => i64:\([0-9]*\)$/\1/p')
      if [ -n "$got" ]; then got=$(to_signed_i64 "$got"); fi
      if [ "$got" = "$want" ]; then interp+=", simd ok"
      else interp+=", simd DIFFERS (wabt ${got:-none})"; fail=1; fi
    fi

    # wasm2c at full n: the wasm build, translated to C and compiled natively.
    local wdir=$out/w2c-$k
    if newer "$wdir/$k.w2c" "$out/$k.wasm" "$here/w2c_driver.c"; then
      mkdir -p "$wdir"
      wasm2c "$out/$k.wasm" -n k -o "$wdir/k_w2c.c"
      "$cc" -O2 -w -I"$wdir" -I"$rt_dir" -o "$wdir/$k.w2c" "$here/w2c_driver.c" "$wdir/k_w2c.c" \
        "$rt_dir/wasm-rt-impl.c" -lm
    fi
    run_native "$k" "$n"
    w2c_res="" w2c_s=""
    local i res
    for ((i = 0; i < reps; i++)); do
      res=$("$wdir/$k.w2c" "$n" 2>"$wdir/err") || { res="trap: $(head -n 1 "$wdir/err")"; }
      w2c_res=$res
      w2c_s=$(min "$w2c_s" "$(stat_of wasm2c_s "$wdir/err")")
    done
    local w2c="ok"
    if [ "$w2c_res" != "$nat_res" ]; then w2c="DIFFERS (wasm2c $w2c_res, native $nat_res)"; fail=1; fi
    printf "%-11s %9s %10s %10s %7s  %-8s %s\n" "$k" "$n" "$(fmt_s "$nat_s")" "$(fmt_s "$w2c_s")" \
      "$(ratio "$w2c_s" "$nat_s")" "$w2c" "$interp (n=$small)"
  done
  if [ "$do_translation" = 1 ]; then
    build_big
    local big_ok
    big_ok=$(cd "$out/big" && cat >check.json <<EOF
{"source_filename": "big.wast", "commands": [
 {"type": "module", "line": 1, "filename": "big.wasm"},
 {"type": "action", "line": 2, "action": {"type": "invoke", "field": "trivial", "args": []},
  "expected": [{"type": "i32"}]}]}
EOF
      spectest-interp check.json 2>&1 | head -n 1)
    echo "translation module: $big_bytes bytes, $funcs functions; wabt: $big_ok"
    [ "$big_ok" = "trivial() => i32:0" ] || fail=1
  fi
  if [ "$fail" != 0 ]; then
    echo "FAIL: a wabt result differs from native"
    return 1
  fi
  echo "all kernels agree with native"
}

# ---- translation module --------------------------------------------------------------------

build_big() {
  local dir=$out/big stamp
  stamp="funcs=$funcs $cc ${cflags[*]} $(cksum <"$here/gen_module.c")"
  big_wasm=$dir/big.wasm
  if [ ! -f "$big_wasm" ] || [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "generating the translation module ($funcs functions; compiled once, then cached)..." >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    "$cc" -O2 -Wall -Wextra -Werror -o "$dir/gen_module" "$here/gen_module.c"
    "$dir/gen_module" "$dir" "$funcs" 1000
    local jobs
    jobs=$(nproc 2>/dev/null || echo 2)
    # shellcheck disable=SC2016
    (cd "$dir" && printf '%s\n' big_*.c |
      xargs -P "$jobs" -I{} "$cc" --target=wasm32 "${cflags[@]}" -c -o {}.o {})
    "$cc" --target=wasm32 -nostdlib -Wl,--no-entry -Wl,--strip-all -o "$big_wasm" "$dir"/big_*.c.o
    wasm-validate "$big_wasm"
    if wasm-objdump -h "$big_wasm" | grep -q '^ *Import '; then die "big.wasm imports something"; fi
    rm -f "$dir"/big_*.c "$dir"/big_*.c.o
    echo "$stamp" >"$dir/stamp"
  fi
  big_bytes=$(stat -c %s "$big_wasm")
}

# ---- main ----------------------------------------------------------------------------------

build_kernels

if [ "$check_mode" = 1 ]; then
  check_kernels
  exit $?
fi

hv=$build/src/cli/hypervisor
# ensure_binary BUILD_DIR: bring the hypervisor target up to date if the dir is configured; an
# older binary is still used (with a warning) when the tree does not build right now.
ensure_binary() {
  local b=$1
  if [ -f "$b/CMakeCache.txt" ]; then
    local log
    log=$out/build-$(basename "$b").log
    echo "building the hypervisor target in $b (log: $log)..." >&2
    cmake --build "$b" --target hypervisor >"$log" 2>&1 || echo "warning: that build failed" >&2
  fi
  [ -x "$b/src/cli/hypervisor" ]
}
ensure_binary "$build" ||
  die "no engine at $hv (configure and build it, or use --check to validate the kernels with wabt)"

cache_get() {  # cache_get VAR BUILD_DIR: a CMake cache value, empty if unknown
  [ -f "$2/CMakeCache.txt" ] || return 0
  sed -n "s/^$1:[A-Z]*=//p" "$2/CMakeCache.txt" | head -n 1
}
build_type=$(cache_get CMAKE_BUILD_TYPE "$build")
case "$(cache_get HV_SANITIZE "$build")" in ON|on|1|TRUE|true)
  echo "warning: $build is a sanitizer build; its timings say little" >&2 ;;
esac
case "$(cache_get HV_GAS_METERING "$build")" in OFF|off|0|FALSE|false)
  echo "warning: $build has gas metering compiled out" >&2 ;;
esac
[ "$build_type" != Debug ] || echo "warning: $build is a Debug build; its timings say little" >&2

hvn=""
if [ "$do_gas" = 1 ]; then
  if [ ! -x "$nogas/src/cli/hypervisor" ] && [ ! -f "$nogas/CMakeCache.txt" ]; then
    echo "configuring $nogas with -DHV_GAS_METERING=OFF..." >&2
    # Same generator, build type and compiler as BUILD_DIR; only the metering differs.
    cfg=(-DCMAKE_BUILD_TYPE="${build_type:-RelWithDebInfo}" -DHV_GAS_METERING=OFF)
    [ -f "$build/build.ninja" ] && cfg+=(-G Ninja)
    build_cc=$(cache_get CMAKE_C_COMPILER "$build")
    [ -n "$build_cc" ] && cfg+=(-DCMAKE_C_COMPILER="$build_cc")
    cmake -S "$root" -B "$nogas" "${cfg[@]}" >"$out/configure-nogas.log" 2>&1 ||
      echo "warning: configuring $nogas failed (log: $out/configure-nogas.log)" >&2
  fi
  if ensure_binary "$nogas"; then
    hvn=$nogas/src/cli/hypervisor
    case "$(cache_get HV_GAS_METERING "$nogas")" in OFF|off|0|FALSE|false) ;;
      *) echo "warning: $nogas does not say HV_GAS_METERING=OFF in its CMakeCache.txt" >&2 ;;
    esac
  else
    echo "warning: no engine at $nogas/src/cli/hypervisor: skipping the metering overhead" >&2
  fi
fi

hvb=""
if [ -n "$baseline" ]; then
  hvb=$baseline/src/cli/hypervisor
  [ -x "$hvb" ] || die "no engine at $hvb (--baseline)"
fi

{
  echo "engine benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1), $(nproc) cores," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "engine: $hv (${build_type:-?})${hvn:+; unmetered: $hvn}"
  echo "kernels: $("$cc" --version | head -n 1), ${cflags[*]}; best of $reps runs"
  [ "$do_simd" = 1 ] && echo "simd: the same kernels built with -msimd128 (v128_ops: SIMD instructions in the module)"
  [ -n "$hvb" ] && echo "baseline: $hvb (scalar kernels, runs interleaved with this engine's)"
  echo "times are the kernel call alone: native from the driver's clock, engine from --stats execution_ms"
  echo
} | tee "$out/results.txt"

fail=0
ratios=() overheads=() simd_ratios=() simd_vec_ratios=() simd_overheads=() base_ratios=()
header=$(printf "%-11s %9s %9s %9s %8s %9s %14s" kernel n native_s engine_s ratio wall_s gas_used)
[ -n "$hvn" ] && header+=$(printf " %9s %9s" nogas_s metering)
[ "$do_simd" = 1 ] && header+=$(printf " %8s %9s %11s" v128_ops simd_s simd/scalar)
[ "$do_simd" = 1 ] && [ -n "$hvn" ] && header+=$(printf " %9s" simd_meter)
[ -n "$hvb" ] && header+=$(printf " %9s %9s" base_s now/base)
echo "$header" | tee -a "$out/results.txt"

for k in "${kernels[@]}"; do
  n=$(kernel_arg "$k" n)
  [ -n "$n" ] || die "$k.c: first line must be '// bench: n=N check=N'"
  run_native "$k" "$n"
  eng_s="" wall_s="" gas="" ng_s="" status="" simd_s="" simd_ng_s="" base_s="" simd_gas=""
  for ((i = 0; i < reps; i++)); do
    engine_once "$hv" "$out/$k.wasm" main "$n"
    if [ "$e_ok" != 1 ]; then status="FAILED: ${e_err:-exit status non-zero}"; break; fi
    if [ "$e_res" != "$nat_res" ]; then status="WRONG: engine $e_res, native $nat_res"; break; fi
    if [ -z "$e_exec_s" ]; then status="no execution_ms in --stats"; break; fi
    [ -z "$gas" ] || [ "$gas" = "$e_gas" ] || status="gas not deterministic: $gas then $e_gas"
    gas=$e_gas
    eng_s=$(min "$eng_s" "$e_exec_s") wall_s=$(min "$wall_s" "$e_wall_s")
    if [ -n "$hvn" ]; then
      # Interleaved with the metered runs so both see the same machine load.
      engine_once "$hvn" "$out/$k.wasm" main "$n"
      if [ "$e_ok" != 1 ]; then status="FAILED (unmetered): ${e_err:-exit status non-zero}"; break; fi
      if [ "$e_res" != "$nat_res" ]; then status="WRONG (unmetered): $e_res, native $nat_res"; break; fi
      ng_s=$(min "$ng_s" "$e_exec_s")
    fi
    if [ "$do_simd" = 1 ]; then
      engine_once "$hv" "$out/$k.simd.wasm" main "$n"
      if [ "$e_ok" != 1 ]; then status="FAILED (simd): ${e_err:-exit status non-zero}"; break; fi
      if [ "$e_res" != "$nat_res" ]; then status="WRONG (simd): $e_res, native $nat_res"; break; fi
      [ -z "$simd_gas" ] || [ "$simd_gas" = "$e_gas" ] || status="simd gas not deterministic"
      simd_gas=$e_gas simd_s=$(min "$simd_s" "$e_exec_s")
      if [ -n "$hvn" ]; then
        engine_once "$hvn" "$out/$k.simd.wasm" main "$n"
        if [ "$e_ok" != 1 ] || [ "$e_res" != "$nat_res" ]; then status="FAILED/WRONG (simd, unmetered)"; break; fi
        simd_ng_s=$(min "$simd_ng_s" "$e_exec_s")
      fi
    fi
    if [ -n "$hvb" ]; then
      engine_once "$hvb" "$out/$k.wasm" main "$n"
      if [ "$e_ok" != 1 ]; then status="FAILED (baseline): ${e_err:-exit status non-zero}"; break; fi
      if [ "$e_res" != "$nat_res" ]; then status="WRONG (baseline): $e_res, native $nat_res"; break; fi
      base_s=$(min "$base_s" "$e_exec_s")
    fi
  done
  case "$status" in FAILED*|WRONG*) fail=1 ;; esac
  line=$(printf "%-11s %9s %9s %9s %8s %9s %14s" "$k" "$n" "$(fmt_s "$nat_s")" "$(fmt_s "$eng_s")" \
    "$(ratio "$eng_s" "$nat_s")" "$(fmt_s "$wall_s")" "${gas:--}")
  if [ -n "$hvn" ]; then
    ov=$(awk -v a="$eng_s" -v b="$ng_s" 'BEGIN { if (a > 0 && b > 0) printf "%+.1f%%", (a / b - 1) * 100; else print "-" }')
    line+=$(printf " %9s %9s" "$(fmt_s "$ng_s")" "$ov")
  fi
  if [ "$do_simd" = 1 ]; then
    vops=$(simd_ops "$out/$k.simd.wasm")
    line+=$(printf " %8s %9s %11s" "$vops" "$(fmt_s "$simd_s")" "$(ratio "$simd_s" "$eng_s")")
    if [ -n "$hvn" ]; then
      line+=$(printf " %9s" "$(awk -v a="$simd_s" -v b="$simd_ng_s" 'BEGIN { if (a > 0 && b > 0) printf "%+.1f%%", (a / b - 1) * 100; else print "-" }')")
    fi
  fi
  [ -n "$hvb" ] && line+=$(printf " %9s %9s" "$(fmt_s "$base_s")" "$(ratio "$eng_s" "$base_s")")
  [ -n "$status" ] && line+="  $status"
  echo "$line" | tee -a "$out/results.txt"
  if [[ "$status" != FAILED* && "$status" != WRONG* ]]; then
    r=$(ratio "$eng_s" "$nat_s")
    [ "$r" != - ] && ratios+=("$(awk -v a="$eng_s" -v b="$nat_s" 'BEGIN { print a / b }')")
    if [ -n "$hvn" ] && [ -n "$ng_s" ] && awk -v b="$ng_s" 'BEGIN { exit !(b > 0) }'; then
      overheads+=("$(awk -v a="$eng_s" -v b="$ng_s" 'BEGIN { print a / b }')")
    fi
    if [ "$do_simd" = 1 ] && [ -n "$simd_s" ]; then
      q=$(awk -v a="$simd_s" -v b="$eng_s" 'BEGIN { print a / b }')
      simd_ratios+=("$q")
      [ "$vops" -gt 0 ] && simd_vec_ratios+=("$q")
      if [ -n "$simd_ng_s" ] && awk -v b="$simd_ng_s" 'BEGIN { exit !(b > 0) }'; then
        simd_overheads+=("$(awk -v a="$simd_s" -v b="$simd_ng_s" 'BEGIN { print a / b }')")
      fi
    fi
    if [ -n "$base_s" ]; then base_ratios+=("$(awk -v a="$eng_s" -v b="$base_s" 'BEGIN { print a / b }')"); fi
  fi
done

# pct_of RATIO...: the geometric mean of the ratios as a signed percentage.
pct_of() { printf '%s\n' "$@" | geomean | awk '{ printf "%+.1f%%", ($1 - 1) * 100 }'; }

{
  echo
  if [ ${#ratios[@]} -gt 0 ]; then
    echo "geometric mean engine/native: $(printf '%s\n' "${ratios[@]}" | geomean)x" \
      "over ${#ratios[@]} of ${#kernels[@]} kernels"
  else
    echo "geometric mean engine/native: n/a"
  fi
  if [ -n "$hvn" ]; then
    if [ ${#overheads[@]} -gt 0 ]; then
      gm=$(printf '%s\n' "${overheads[@]}" | geomean)
      echo "gas-metering overhead: $(awk -v g="$gm" 'BEGIN { printf "%+.1f%%", (g - 1) * 100 }')" \
        "(geometric mean of metered/unmetered execution time, ${#overheads[@]} kernels)"
    else
      echo "gas-metering overhead: n/a"
    fi
    if [ ${#simd_overheads[@]} -gt 0 ]; then
      echo "gas-metering overhead, -msimd128 builds: $(pct_of "${simd_overheads[@]}")" \
        "(${#simd_overheads[@]} kernels)"
    fi
  fi
  if [ ${#simd_ratios[@]} -gt 0 ]; then
    echo "simd/scalar (engine time of the -msimd128 build over the scalar one):" \
      "$(printf '%s\n' "${simd_ratios[@]}" | geomean)x over ${#simd_ratios[@]} kernels;" \
      "$( [ ${#simd_vec_ratios[@]} -gt 0 ] && printf '%s\n' "${simd_vec_ratios[@]}" | geomean || echo n/a)x" \
      "over the ${#simd_vec_ratios[@]} with SIMD instructions"
  fi
  if [ ${#base_ratios[@]} -gt 0 ]; then
    echo "now/baseline (scalar kernels): $(printf '%s\n' "${base_ratios[@]}" | geomean)x" \
      "over ${#base_ratios[@]} kernels"
  fi
} | tee -a "$out/results.txt"

if [ "$do_translation" = 1 ]; then
  build_big
  best_ms=""
  for ((i = 0; i < reps; i++)); do
    engine_once "$hv" "$big_wasm" trivial
    if [ "$e_ok" != 1 ] || [ "$e_res" != 0 ]; then
      echo "translation module FAILED: ${e_err:-result $e_res}" | tee -a "$out/results.txt"
      fail=1
      break
    fi
    if [ -z "$e_trans_ms" ]; then
      echo "translation: no translation_ms in --stats" | tee -a "$out/results.txt"
      break
    fi
    best_ms=$(min "$best_ms" "$e_trans_ms")
  done
  if [ -n "$best_ms" ]; then
    awk -v b="$big_bytes" -v ms="$best_ms" -v f="$funcs" -v peak="${e_peak:-0}" 'BEGIN {
      printf "translation: %.2f MB module (%d functions) in %.1f ms: %.1f MB/s", b / 1e6, f, ms,
        (ms > 0 ? b / 1e6 / (ms / 1000) : 0)
      if (peak > 0) printf " (peak memory %.1f MB)", peak / 1e6
      printf "\n" }' | tee -a "$out/results.txt"
  fi
fi

echo "(saved in $out/results.txt)"
if [ "$fail" != 0 ]; then
  echo "FAIL: the engine failed or differed from native on some kernel" >&2
  exit 1
fi
