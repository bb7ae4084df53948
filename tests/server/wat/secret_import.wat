;; A module whose import names are the program's own secrets: refused by the sandbox policy, and
;; nothing of those names may appear in a plaintext reply or the log.
(module
  (import "secret_module_name" "secret_field_name" (func $f (param i32)))
  (func (export "main") (result i32) i32.const 1 call $f i32.const 0))
