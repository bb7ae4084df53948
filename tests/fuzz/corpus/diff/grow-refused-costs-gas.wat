;; Regression (found by the issue 5 differential check): memory.grow and table.grow used to demand
;; gas for the whole requested delta before trying the grow, so a request the maximum refuses ended
;; with GAS_EXHAUSTED (and emptied the store's gas) instead of returning -1. A refused grow now costs
;; only the instruction; gas.h charges per page or element actually added.
(module
  (memory 1 4)
  (table 1 8 funcref)
  (func (export "memory_grow_huge") (result i32) (memory.grow (i32.const -1)))
  (func (export "table_grow_huge") (result i32) (table.grow 0 (ref.null func) (i32.const -1)))
  (func (export "memory_grow_over_max") (result i32) (memory.grow (i32.const 0x10000)))
  (func (export "still_runs") (result i32) (i32.add (memory.size) (table.size 0))))
