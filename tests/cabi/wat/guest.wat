;; The guest of the Canonical ABI tests (test_cabi.c): a cabi_realloc and a cabi_post_echo whose
;; behaviour the test chooses through set_realloc and set_post, exports that echo or record what
;; they were given, and exported globals that record every call the host made.
(module
  (memory (export "memory") 1)

  ;; cabi_realloc's behaviour (set_realloc MODE FIXED):
  ;;   0 bump allocator from 1024, growing the memory as needed (traps when the grow is refused)
  ;;   1 return FIXED, whatever was asked
  ;;   2 trap (unreachable)
  ;;   3 loop forever (gas or the interrupt stops it)
  ;;   4 grow the memory by one page and return the first byte of the new page
  (global $realloc_mode (mut i32) (i32.const 0))
  (global $fixed (mut i32) (i32.const 0))
  (global $bump (mut i32) (i32.const 1024))
  ;; cabi_post_echo's behaviour (set_post MODE): 0 record, 1 trap, 2 loop forever
  (global $post_mode (mut i32) (i32.const 0))

  ;; What the host did.
  (global $realloc_calls (export "realloc_calls") (mut i32) (i32.const 0))
  (global $ra_old_ptr (export "ra_old_ptr") (mut i32) (i32.const -1))
  (global $ra_old_size (export "ra_old_size") (mut i32) (i32.const -1))
  (global $ra_align (export "ra_align") (mut i32) (i32.const -1))
  (global $ra_size (export "ra_size") (mut i32) (i32.const -1))
  (global $post_calls (export "post_calls") (mut i32) (i32.const 0))
  (global $post_arg (export "post_arg") (mut i32) (i32.const -1))
  (global $export_calls (export "export_calls") (mut i32) (i32.const 0))
  ;; record's and pair's parameters
  (global $r_a (export "r_a") (mut i32) (i32.const 0))
  (global $r_sp (export "r_sp") (mut i32) (i32.const 0))
  (global $r_sl (export "r_sl") (mut i32) (i32.const 0))
  (global $r_b (export "r_b") (mut i64) (i64.const 0))
  (global $r_bp (export "r_bp") (mut i32) (i32.const 0))
  (global $r_bl (export "r_bl") (mut i32) (i32.const 0))
  (global $r_c (export "r_c") (mut f64) (f64.const 0))
  (global $r_d (export "r_d") (mut f32) (f32.const 0))
  ;; an export named cabi_post_glob that is not a function
  (global (export "cabi_post_glob") i32 (i32.const 0))

  (func (export "set_realloc") (param $mode i32) (param $fixed i32)
    (global.set $realloc_mode (local.get $mode))
    (global.set $fixed (local.get $fixed)))
  (func (export "set_post") (param $mode i32)
    (global.set $post_mode (local.get $mode)))

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32)
        (param $size i32) (result i32)
    (local $p i32) (local $end i64) (local $have i64)
    (global.set $realloc_calls (i32.add (global.get $realloc_calls) (i32.const 1)))
    (global.set $ra_old_ptr (local.get $old))
    (global.set $ra_old_size (local.get $old_size))
    (global.set $ra_align (local.get $align))
    (global.set $ra_size (local.get $size))
    (block $grow1
      (block $spin
        (block $trap
          (block $fixed
            (block $bump
              (br_table $bump $fixed $trap $spin $grow1 (global.get $realloc_mode)))
            ;; 0: bump
            (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                                   (i32.sub (i32.const 0) (local.get $align))))
            (local.set $end (i64.add (i64.extend_i32_u (local.get $p)) (i64.extend_i32_u (local.get $size))))
            (local.set $have (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536)))
            (if (i64.gt_u (local.get $end) (local.get $have))
              (then
                (if (i32.eq (memory.grow (i32.wrap_i64
                      (i64.div_u (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 65535))
                                 (i64.const 65536))))
                      (i32.const -1))
                  (then unreachable))))
            (global.set $bump (i32.wrap_i64 (local.get $end)))
            (return (local.get $p)))
          ;; 1: fixed
          (return (global.get $fixed)))
        ;; 2: trap
        unreachable)
      ;; 3: spin
      (loop $l (br $l))
      unreachable)
    ;; 4: one new page
    (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))

  ;; echo(ptr, len) -> retptr 8, where (ptr, len) are stored: the argument is the result.
  (func (export "echo") (param $ptr i32) (param $len i32) (result i32)
    (global.set $export_calls (i32.add (global.get $export_calls) (i32.const 1)))
    (i32.store (i32.const 8) (local.get $ptr))
    (i32.store (i32.const 12) (local.get $len))
    (i32.const 8))
  (func (export "cabi_post_echo") (param $retptr i32)
    (block $spin
      (block $trap
        (block $record
          (br_table $record $trap $spin (global.get $post_mode)))
        (global.set $post_calls (i32.add (global.get $post_calls) (i32.const 1)))
        (global.set $post_arg (local.get $retptr))
        (return))
      unreachable)
    (loop $l (br $l)))

  ;; ret_at(retptr) -> retptr: the test writes (ptr, len) and the bytes; no cabi_post_ret_at.
  (func (export "ret_at") (param $retptr i32) (result i32)
    (global.set $export_calls (i32.add (global.get $export_calls) (i32.const 1)))
    (local.get $retptr))

  ;; grow_ret() -> retptr in a page it has just grown, holding "grown" (5 bytes) right after it.
  (func (export "grow_ret") (result i32)
    (local $p i32)
    (local.set $p (i32.mul (memory.grow (i32.const 1)) (i32.const 65536)))
    (i32.store (local.get $p) (i32.add (local.get $p) (i32.const 8)))
    (i32.store offset=4 (local.get $p) (i32.const 5))
    (i64.store offset=8 (local.get $p) (i64.const 0x6e776f7267)) ;; "grown"
    (local.get $p))

  ;; record(i32, string, i64, bytes, f64, f32) -> a + 1: every core parameter kept in a global.
  (func (export "record") (param $a i32) (param $sp i32) (param $sl i32) (param $b i64)
        (param $bp i32) (param $bl i32) (param $c f64) (param $d f32) (result i32)
    (global.set $export_calls (i32.add (global.get $export_calls) (i32.const 1)))
    (global.set $r_a (local.get $a))
    (global.set $r_sp (local.get $sp))
    (global.set $r_sl (local.get $sl))
    (global.set $r_b (local.get $b))
    (global.set $r_bp (local.get $bp))
    (global.set $r_bl (local.get $bl))
    (global.set $r_c (local.get $c))
    (global.set $r_d (local.get $d))
    (i32.add (local.get $a) (i32.const 1)))

  ;; pair(p1, l1, p2, l2): two blobs kept in r_sp, r_sl, r_bp, r_bl.
  (func (export "pair") (param i32 i32 i32 i32)
    (global.set $r_sp (local.get 0))
    (global.set $r_sl (local.get 1))
    (global.set $r_bp (local.get 2))
    (global.set $r_bl (local.get 3)))

  (func (export "multi") (result i32 i64 f32 f64)
    (i32.const -7) (i64.const 0x123456789) (f32.const 1.5) (f64.const -2.25))
  (func (export "two") (result i32 i32) (i32.const 8) (i32.const 8))
  (func (export "none"))
  (func (export "f32ret") (result f32) (f32.const 1))

  ;; a cabi_post of the wrong type, and one that is a global (above)
  (func (export "bad_post") (param i32 i32) (result i32) (i32.const 8))
  (func (export "cabi_post_bad_post") (param i32 i32))
  (func (export "glob") (param i32 i32) (result i32) (i32.const 8))
)
