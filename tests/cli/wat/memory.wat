;; 100 pages (6.25 MiB) minimum: over a --memory-mb 4 cap (MEMORY_EXCEEDED), fine under 64 MiB.
(module
  (memory 100)
  (func (export "main") (result i32) (memory.size))
  ;; memory.grow past the cap returns -1 ...
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  ;; ... and a trap after a refused grow is MEMORY_EXCEEDED.
  (func (export "grow_then_trap") (result i32)
    (if (i32.eq (memory.grow (i32.const 10000)) (i32.const -1)) (then (unreachable)))
    (i32.const 0)))
