# Warnings live here and only here: every target of the project gets them through hv_warnings.
add_library(hv_warnings INTERFACE)
target_compile_options(hv_warnings INTERFACE
  -Wall -Wextra -Werror -Wshadow $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes>
  $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes>
  -Wformat=2 -Wvla -Wpointer-arith -Wno-unused-parameter)
target_compile_definitions(hv_warnings INTERFACE _GNU_SOURCE)
