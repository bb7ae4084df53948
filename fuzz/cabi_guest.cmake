# hv_fuzz_cabi_guest(OUT_VAR): the custom command that assembles fuzz/targets/fuzz_cabi.wat and
# turns it into fuzz_cabi_wasm.h in the current binary directory (for the libFuzzer target and
# its regression test alike). Sets OUT_VAR to the header's path: list it among the sources of the
# target that includes it, and add its directory to the include path.
find_program(HV_WAT2WASM wat2wasm REQUIRED) # Debian package wabt

function(hv_fuzz_cabi_guest out_var)
  set(wat ${PROJECT_SOURCE_DIR}/fuzz/targets/fuzz_cabi.wat)
  set(wasm ${CMAKE_CURRENT_BINARY_DIR}/fuzz_cabi.wasm)
  set(header ${CMAKE_CURRENT_BINARY_DIR}/fuzz_cabi_wasm.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${HV_WAT2WASM} ${wat} -o ${wasm}
    COMMAND ${CMAKE_COMMAND} -DIN=${wasm} -DOUT=${header} -DNAME=fuzz_cabi_wasm
            -P ${PROJECT_SOURCE_DIR}/fuzz/wasm_to_c.cmake
    DEPENDS ${wat} ${PROJECT_SOURCE_DIR}/fuzz/wasm_to_c.cmake
    COMMENT "fuzz_cabi.wat -> fuzz_cabi_wasm.h"
    VERBATIM)
  set(${out_var} ${header} PARENT_SCOPE)
endfunction()
