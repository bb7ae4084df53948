;; Touches 64 MiB: grows its memory to 1024 pages (the default cap) and writes one byte in every
;; 4 KiB page, so the whole 64 MiB becomes resident. Returns the number of pages grown to.
(module
  (memory 1)
  (func (export "touch") (result i32)
    (local $p i32)
    i32.const 1023 memory.grow
    i32.const -1 i32.eq if unreachable end
    (loop $l
      local.get $p i32.const 1 i32.store8
      local.get $p i32.const 4096 i32.add local.tee $p
      i32.const 67108864 i32.lt_u br_if $l)
    memory.size))
