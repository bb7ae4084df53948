# cmake -DIN=FILE.wasm -DOUT=FILE.h -DNAME=IDENT -P wasm_to_c.cmake
# Writes FILE.wasm as a C array `static const unsigned char IDENT[]`, so a fuzz target carries its
# guest module inside the binary (fuzz_cabi). Used by fuzz/CMakeLists.txt and tests/fuzz.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
get_filename_component(in_name "${IN}" NAME)
file(WRITE "${OUT}" "/* Generated from ${in_name} by fuzz/wasm_to_c.cmake: do not edit. */\n"
                    "static const unsigned char ${NAME}[] = {\n  ${bytes}\n};\n")
