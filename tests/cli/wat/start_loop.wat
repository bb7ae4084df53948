;; The start function never returns: the wall-clock limit covers instantiation too.
(module
  (func $start (loop $l (br $l)))
  (start $start)
  (func (export "main") (result i32) (i32.const 0)))
