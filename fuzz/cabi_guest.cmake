# hv_fuzz_wat_guest(WAT NAME OUT_VAR): the custom command that assembles WAT and turns it into
# NAME.h (a C array NAME[]) in the current binary directory, for a libFuzzer target and its
# regression test alike. Sets OUT_VAR to the header's path: list it among the sources of the
# target that includes it, and add its directory to the include path.
# hv_fuzz_cabi_guest(OUT_VAR): that, for fuzz/targets/fuzz_cabi.wat (fuzz_cabi_wasm.h).
find_program(HV_WAT2WASM wat2wasm REQUIRED) # Debian package wabt

function(hv_fuzz_wat_guest wat name out_var)
  get_filename_component(stem ${wat} NAME_WE)
  set(wasm ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  set(header ${CMAKE_CURRENT_BINARY_DIR}/${name}.h)
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${HV_WAT2WASM} ${wat} -o ${wasm}
    COMMAND ${CMAKE_COMMAND} -DIN=${wasm} -DOUT=${header} -DNAME=${name}
            -P ${PROJECT_SOURCE_DIR}/fuzz/wasm_to_c.cmake
    DEPENDS ${wat} ${PROJECT_SOURCE_DIR}/fuzz/wasm_to_c.cmake
    COMMENT "${stem}.wat -> ${name}.h"
    VERBATIM)
  set(${out_var} ${header} PARENT_SCOPE)
endfunction()

function(hv_fuzz_cabi_guest out_var)
  hv_fuzz_wat_guest(${PROJECT_SOURCE_DIR}/fuzz/targets/fuzz_cabi.wat fuzz_cabi_wasm header)
  set(${out_var} ${header} PARENT_SCOPE)
endfunction()
