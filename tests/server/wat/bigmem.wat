;; Declares 2000 pages (125 MiB) of memory: over the 64 MiB limit at instantiation.
(module
  (memory 2000)
  (func (export "main") (result i32) i32.const 1))
