# HV_SANITIZE=ON builds every target with ASan + UBSan; a UBSan report is fatal so a test fails on it.
if(HV_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
