;; The WebAssembly kernel of the fused group-by (wasm-groupby.ts drives it; plain-groupby.ts is the
;; same work in JS, and the reference its tests compare with). It walks plain rows (no quote, no
;; CR: csv-plain.ts's rules), finds each field's end 16 bytes at a time (SIMD compares + bitmask),
;; converts the value fields the query reads, packs each key field (at most 16 bytes) into a v128
;; and finds the row's group in one hash table over the key tuple. Per row it writes the group and
;; the values into batch arrays; JS adds them to the accumulators (every aggregation op stays JS).
;;
;; Anything unusual stops it at the row's start with status BAIL: JS reads that one row with the
;; full JS readers (exponents, long numbers, missing-value words), or gives up the range.
;;
;; Memory (addresses fixed here and in wasm-groupby.ts): MASKS 256 (17 x 16 bytes: mask[len] keeps
;; the first len bytes), ROWKEY 1024 (4 x v128: this row's keys), ROWLEN 1088 (4 x i32), POW10 1152
;; (16 x f64), KINDS 2048 and SLOTS 6144 (1024 x i32 each, per file field), input from 16384. The
;; batch arrays, the hash table and the group entries live after the input, placed by JS.
(module
  (memory (export "memory") 1)

  ;; The query and the batch, set by JS.
  (global $width (export "width") (mut i32) (i32.const 0))
  (global $delim (export "delim") (mut i32) (i32.const 44))
  (global $keyCount (export "keyCount") (mut i32) (i32.const 1))
  (global $groupsOut (export "groupsOut") (mut i32) (i32.const 0))
  (global $valuesOut (export "valuesOut") (mut i32) (i32.const 0))
  (global $batchCap (export "batchCap") (mut i32) (i32.const 0))
  ;; The groups: open addressing, group + 1 per i32 slot (0: empty); per group keyCount v128 keys
  ;; and keyCount i32 lengths. JS grows them when status is GROW.
  (global $table (export "table") (mut i32) (i32.const 0))
  (global $mask (export "mask") (mut i32) (i32.const 0))
  (global $entries (export "entries") (mut i32) (i32.const 0))
  (global $lens (export "lens") (mut i32) (i32.const 0))
  (global $groups (export "groups") (mut i32) (i32.const 0))
  (global $capacity (export "capacity") (mut i32) (i32.const 0))
  ;; Rows in the batch, rows read by the last scan (blank lines not counted), why scan stopped.
  (global $n (export "n") (mut i32) (i32.const 0))
  (global $rows (export "rows") (mut i32) (i32.const 0))
  (global $status (export "status") (mut i32) (i32.const 0))

  ;; A hash of keyCount keys (v128 each at $keys, lengths at $lens).
  (func $hash (param $keys i32) (param $lengths i32) (result i32)
    (local $h i64) (local $k i32)
    (local.set $h (i64.const 0x2545F4914F6CDD1D))
    (loop $each
      (local.set $h (i64.mul
        (i64.xor (local.get $h) (i64.load (local.get $keys)))
        (i64.const 0x9E3779B97F4A7C15)))
      (local.set $h (i64.mul
        (i64.xor
          (i64.rotl (local.get $h) (i64.const 29))
          (i64.xor (i64.load offset=8 (local.get $keys))
                   (i64.extend_i32_u (i32.load (local.get $lengths)))))
        (i64.const 0xC2B2AE3D27D4EB4F)))
      (local.set $keys (i32.add (local.get $keys) (i32.const 16)))
      (local.set $lengths (i32.add (local.get $lengths) (i32.const 4)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $k) (global.get $keyCount))))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 31)))
                           (i64.const 0x94D049BB133111EB)))
    (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))

  ;; Whether group $g's keys are the row's (ROWKEY, ROWLEN).
  (func $same (param $g i32) (result i32)
    (local $at i32) (local $k i32)
    (local.set $at (i32.mul (local.get $g) (global.get $keyCount)))
    (loop $each
      (if (i32.eqz (i8x16.all_true (i8x16.eq
            (v128.load (i32.add (global.get $entries) (i32.shl (i32.add (local.get $at) (local.get $k)) (i32.const 4))))
            (v128.load (i32.add (i32.const 1024) (i32.shl (local.get $k) (i32.const 4)))))))
        (then (return (i32.const 0))))
      (if (i32.ne (i32.load (i32.add (global.get $lens) (i32.shl (i32.add (local.get $at) (local.get $k)) (i32.const 2))))
                  (i32.load (i32.add (i32.const 1088) (i32.shl (local.get $k) (i32.const 2)))))
        (then (return (i32.const 0))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $k) (global.get $keyCount))))
    (i32.const 1))

  ;; The group of the row's keys (ROWKEY, ROWLEN), added if new. JS keeps room for one more group.
  (func $lookup (export "lookup") (result i32)
    (local $slot i32) (local $entry i32) (local $g i32) (local $k i32) (local $at i32)
    (local.set $slot (i32.and (call $hash (i32.const 1024) (i32.const 1088)) (global.get $mask)))
    (loop $probe
      (local.set $entry (i32.load (i32.add (global.get $table) (i32.shl (local.get $slot) (i32.const 2)))))
      (if (local.get $entry)
        (then
          (if (call $same (i32.sub (local.get $entry) (i32.const 1)))
            (then (return (i32.sub (local.get $entry) (i32.const 1)))))
          (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (global.get $mask)))
          (br $probe))))
    (local.set $g (global.get $groups))
    (global.set $groups (i32.add (local.get $g) (i32.const 1)))
    (local.set $at (i32.mul (local.get $g) (global.get $keyCount)))
    (loop $copy
      (v128.store (i32.add (global.get $entries) (i32.shl (i32.add (local.get $at) (local.get $k)) (i32.const 4)))
                  (v128.load (i32.add (i32.const 1024) (i32.shl (local.get $k) (i32.const 4)))))
      (i32.store (i32.add (global.get $lens) (i32.shl (i32.add (local.get $at) (local.get $k)) (i32.const 2)))
                 (i32.load (i32.add (i32.const 1088) (i32.shl (local.get $k) (i32.const 2)))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $copy (i32.lt_u (local.get $k) (global.get $keyCount))))
    (i32.store (i32.add (global.get $table) (i32.shl (local.get $slot) (i32.const 2)))
               (i32.add (local.get $g) (i32.const 1)))
    (local.get $g))

  ;; Rebuilds the hash table of every group at $at with $size slots (a power of two).
  (func (export "rehash") (param $at i32) (param $size i32)
    (local $g i32) (local $slot i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.shl (local.get $size) (i32.const 2)))
    (global.set $table (local.get $at))
    (global.set $mask (i32.sub (local.get $size) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $g) (global.get $groups)))
        (local.set $slot (i32.and
          (call $hash
            (i32.add (global.get $entries) (i32.shl (i32.mul (local.get $g) (global.get $keyCount)) (i32.const 4)))
            (i32.add (global.get $lens) (i32.shl (i32.mul (local.get $g) (global.get $keyCount)) (i32.const 2))))
          (global.get $mask)))
        (loop $probe
          (if (i32.load (i32.add (local.get $at) (i32.shl (local.get $slot) (i32.const 2))))
            (then
              (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (global.get $mask)))
              (br $probe))))
        (i32.store (i32.add (local.get $at) (i32.shl (local.get $slot) (i32.const 2)))
                   (i32.add (local.get $g) (i32.const 1)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $each))))

  ;; Key $k of the row is bytes [$start, $start + $len) (1 to 16 bytes): for a row JS reads itself.
  (func (export "setKey") (param $k i32) (param $start i32) (param $len i32)
    (v128.store (i32.add (i32.const 1024) (i32.shl (local.get $k) (i32.const 4)))
      (v128.and (v128.load (local.get $start))
                (v128.load (i32.add (i32.const 256) (i32.shl (local.get $len) (i32.const 4))))))
    (i32.store (i32.add (i32.const 1088) (i32.shl (local.get $k) (i32.const 2))) (local.get $len)))

  ;; Reads the rows of [$pos, $stop) (the byte at $stop - 1 a newline, 16 readable bytes after
  ;; $stop) into the batch, until $stop (status DONE 0), a full batch (FULL 1), a full group table
  ;; (GROW 2) or a row it does not take (BAIL 3). Returns where it stopped: a row's start.
  (func (export "scan") (param $pos i32) (param $stop i32) (result i32)
    (local $c i32) (local $field i32) (local $kind i32) (local $slot i32) (local $last i32)
    (local $start i32) (local $rowStart i32) (local $missing i32) (local $n i32) (local $rows i32)
    (local $len i32) (local $bits i32) (local $neg i32) (local $m i64) (local $digitsFrom i32)
    (local $digits i32) (local $frac i32) (local $v f64) (local $g i32)
    (local $delims v128) (local $newlines v128) (local $chunk v128)
    (local.set $last (i32.sub (global.get $width) (i32.const 1)))
    (local.set $n (global.get $n))
    (local.set $delims (i8x16.splat (global.get $delim)))
    (local.set $newlines (i8x16.splat (i32.const 10)))
    (block $exit
      (loop $row
        (if (i32.ge_u (local.get $pos) (local.get $stop))
          (then (global.set $status (i32.const 0)) (br $exit)))
        (if (i32.eq (i32.load8_u (local.get $pos)) (i32.const 10))
          (then (local.set $pos (i32.add (local.get $pos) (i32.const 1))) (br $row))) ;; a blank line
        (if (i32.eq (local.get $n) (global.get $batchCap))
          (then (global.set $status (i32.const 1)) (br $exit)))
        (if (i32.or (i32.ge_u (i32.shl (global.get $groups) (i32.const 1)) (global.get $mask))
                    (i32.ge_u (global.get $groups) (global.get $capacity)))
          (then (global.set $status (i32.const 2)) (br $exit)))
        (local.set $rowStart (local.get $pos))
        (local.set $missing (i32.const 0))
        (local.set $field (i32.const 0))
        (block $bail
          (loop $fields
            (local.set $kind (i32.load offset=2048 (i32.shl (local.get $field) (i32.const 2))))
            (local.set $slot (i32.load offset=6144 (i32.shl (local.get $field) (i32.const 2))))
            (local.set $start (local.get $pos))
            (if (i32.le_u (local.get $kind) (i32.const 1))
              (then
                ;; Skipped or a key: its end is the first delimiter or newline, 16 bytes at a time.
                (block $found
                  (loop $find
                    (local.set $chunk (v128.load (local.get $pos)))
                    (local.set $bits (i8x16.bitmask (v128.or
                      (i8x16.eq (local.get $chunk) (local.get $delims))
                      (i8x16.eq (local.get $chunk) (local.get $newlines)))))
                    (br_if $found (local.get $bits))
                    (local.set $pos (i32.add (local.get $pos) (i32.const 16)))
                    (br $find)))
                (local.set $pos (i32.add (local.get $pos) (i32.ctz (local.get $bits))))
                (if (local.get $kind)
                  (then
                    (local.set $len (i32.sub (local.get $pos) (local.get $start)))
                    (if (i32.eqz (local.get $len))
                      (then (local.set $missing (i32.const 1)))
                      (else
                        (br_if $bail (i32.gt_u (local.get $len) (i32.const 16)))
                        (v128.store offset=1024 (i32.shl (local.get $slot) (i32.const 4))
                          (v128.and (v128.load (local.get $start))
                                    (v128.load offset=256 (i32.shl (local.get $len) (i32.const 4)))))
                        (i32.store offset=1088 (i32.shl (local.get $slot) (i32.const 2)) (local.get $len)))))))
              (else
                ;; A number (2: float64, 3: int32): sign, digits, and for a float one point and digits.
                (local.set $c (i32.load8_u (local.get $pos)))
                (local.set $neg (i32.eq (local.get $c) (i32.const 45)))
                (if (i32.or (local.get $neg) (i32.eq (local.get $c) (i32.const 43)))
                  (then
                    (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
                    (local.set $c (i32.load8_u (local.get $pos)))))
                (local.set $m (i64.const 0))
                (local.set $digitsFrom (local.get $pos))
                (block $intDone
                  (loop $intDigits
                    (br_if $intDone (i32.ge_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
                    (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                           (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                    (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
                    (local.set $c (i32.load8_u (local.get $pos)))
                    (br $intDigits)))
                (local.set $digits (i32.sub (local.get $pos) (local.get $digitsFrom)))
                (local.set $frac (i32.const 0))
                (if (i32.and (i32.eq (local.get $kind) (i32.const 2)) (i32.eq (local.get $c) (i32.const 46)))
                  (then
                    (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
                    (local.set $c (i32.load8_u (local.get $pos)))
                    (local.set $digitsFrom (local.get $pos))
                    (block $fracDone
                      (loop $fracDigits
                        (br_if $fracDone (i32.ge_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))
                        (local.set $m (i64.add (i64.mul (local.get $m) (i64.const 10))
                                               (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
                        (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
                        (local.set $c (i32.load8_u (local.get $pos)))
                        (br $fracDigits)))
                    (local.set $frac (i32.sub (local.get $pos) (local.get $digitsFrom)))
                    (local.set $digits (i32.add (local.get $digits) (local.get $frac)))))
                (br_if $bail (i32.and (i32.ne (local.get $c) (global.get $delim)) (i32.ne (local.get $c) (i32.const 10))))
                (if (i32.eqz (local.get $digits))
                  (then
                    ;; An empty float field is missing (NaN); a sign or point alone is not for here.
                    (br_if $bail (i32.or (i32.ne (local.get $pos) (local.get $start)) (i32.ne (local.get $kind) (i32.const 2))))
                    (local.set $v (f64.const nan)))
                  (else
                    (if (i32.eq (local.get $kind) (i32.const 2))
                      (then
                        ;; At most 15 digits: the mantissa and 10^frac are exact, the division rounds once.
                        (br_if $bail (i32.gt_u (local.get $digits) (i32.const 15)))
                        (local.set $v (f64.convert_i64_u (local.get $m)))
                        (if (local.get $frac)
                          (then (local.set $v (f64.div (local.get $v)
                            (f64.load offset=1152 (i32.shl (local.get $frac) (i32.const 3))))))))
                      (else
                        (br_if $bail (i32.gt_u (local.get $digits) (i32.const 10)))
                        (br_if $bail (i64.gt_u (local.get $m)
                          (i64.add (i64.const 2147483647) (i64.extend_i32_u (local.get $neg)))))
                        (local.set $v (f64.convert_i64_u (local.get $m)))))
                    (if (local.get $neg) (then (local.set $v (f64.neg (local.get $v)))))))
                (f64.store
                  (i32.add (global.get $valuesOut)
                    (i32.shl (i32.add (i32.mul (local.get $slot) (global.get $batchCap)) (local.get $n)) (i32.const 3)))
                  (local.get $v))))
            ;; The field ends the row exactly when it is the last one; otherwise the row is not for here.
            (local.set $c (i32.load8_u (local.get $pos)))
            (local.set $pos (i32.add (local.get $pos) (i32.const 1)))
            (if (i32.lt_u (local.get $field) (local.get $last))
              (then
                (br_if $bail (i32.ne (local.get $c) (global.get $delim)))
                (local.set $field (i32.add (local.get $field) (i32.const 1)))
                (br $fields)))
            (br_if $bail (i32.ne (local.get $c) (i32.const 10))))
          (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
          ;; A missing key drops the row (group -1), as pandas' dropna=True does.
          (local.set $g (i32.const -1))
          (if (i32.eqz (local.get $missing)) (then (local.set $g (call $lookup))))
          (i32.store (i32.add (global.get $groupsOut) (i32.shl (local.get $n) (i32.const 2))) (local.get $g))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $row))
        (global.set $status (i32.const 3))
        (local.set $pos (local.get $rowStart))))
    (global.set $n (local.get $n))
    (global.set $rows (local.get $rows))
    (local.get $pos))
)
