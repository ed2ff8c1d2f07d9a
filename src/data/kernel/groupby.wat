;; The WebAssembly kernel of the fused group-by (wasm-groupby.ts drives it; plain-groupby.ts is the
;; same work in JS, and the reference its tests compare with). It walks plain rows (no quote, no
;; CR: csv-plain.ts's rules), finds each field's end 16 bytes at a time (SIMD compares + bitmask),
;; converts the value fields the query reads, packs each key field (at most 16 bytes) into a v128,
;; looks it up in its column's dictionary (a code per distinct text, first-seen order) and finds
;; the row's group from the codes (see $group). Per row it writes the group and the values into
;; batch arrays; JS adds them to the accumulators (every aggregation op stays JS). Small tables,
;; as plain-groupby.ts keeps: 10,000 pairs of 100 x 100 keys are two 100-entry dictionaries and a
;; 64 KB pair table, where one hash table over the key bytes was 450 KB of cache misses.
;;
;; Anything unusual stops it at the row's start with status BAIL: JS reads that one row with the
;; full JS readers (exponents, long numbers, missing-value words), or gives up the range.
;;
;; Memory (addresses fixed here and in wasm-groupby.ts): MASKS 256 (17 x 16 bytes: mask[len] keeps
;; the first len bytes), ROWKEY 1024 (4 x v128: this row's keys), ROWLEN 1088 (4 x i32), CODES
;; 1104 (4 x i32: their codes), POW10 1152 (16 x f64), DICTS 1280 (4 x 32 bytes), KINDS 2048 and
;; SLOTS 6144 (1024 x i32 each, per file field), input from 16384. The batch arrays and the tables
;; live after the input, placed by JS.
(module
  (memory (export "memory") 1)

  ;; The query and the batch, set by JS.
  (global $width (export "width") (mut i32) (i32.const 0))
  (global $delim (export "delim") (mut i32) (i32.const 44))
  (global $keyCount (export "keyCount") (mut i32) (i32.const 1))
  (global $groupsOut (export "groupsOut") (mut i32) (i32.const 0))
  (global $valuesOut (export "valuesOut") (mut i32) (i32.const 0))
  (global $batchCap (export "batchCap") (mut i32) (i32.const 0))
;; The groups (see $group): MODE, the pair table, the hash table over codes, and per group its
  ;; keyCount codes. JS grows them when status is GROW, lays the pair table out again on RELAYOUT.
  (global $mode (export "mode") (mut i32) (i32.const 1))
  (global $pairs (export "pairs") (mut i32) (i32.const 0))
  (global $shift (export "shift") (mut i32) (i32.const 0))
  (global $pairRows (export "pairRows") (mut i32) (i32.const 0))
  (global $htable (export "htable") (mut i32) (i32.const 0))
  (global $hmask (export "hmask") (mut i32) (i32.const 0))
  (global $groupCodes (export "groupCodes") (mut i32) (i32.const 0))
  (global $groups (export "groups") (mut i32) (i32.const 0))
  (global $groupCapacity (export "groupCapacity") (mut i32) (i32.const 0))
  ;; How many more codes and groups fit before a table must grow (JS sets it, each insertion
  ;; takes one): one check per row, not one per table.
  (global $room (export "room") (mut i32) (i32.const 0))
  ;; Rows in the batch, rows read by the last scan (blank lines not counted), why scan stopped.
  (global $n (export "n") (mut i32) (i32.const 0))
  (global $rows (export "rows") (mut i32) (i32.const 0))
  (global $status (export "status") (mut i32) (i32.const 0))

;; One dictionary per key column (text -> code, first-seen order), its fields at DICTS + 32 k:
  ;; +0 table (code + 1 per i32 slot, 0: empty), +4 mask, +8 entries (v128 per code), +12 lengths
  ;; (i32 per code), +16 count, +20 capacity. JS grows them when status is GROW.

  ;; A hash of a key: its 16 bytes as two i64 lanes, and its length. One multiplication (its high
  ;; half, where every input bit has reached): the dictionaries hold few values, a probe is cheap.
  (func $hashKey (param $lo i64) (param $hi i64) (param $len i32) (result i32)
    (i32.wrap_i64 (i64.shr_u
      (i64.mul (i64.xor (i64.xor (local.get $lo) (i64.rotl (local.get $hi) (i64.const 29)))
                        (i64.extend_i32_u (local.get $len)))
               (i64.const 0x9E3779B97F4A7C15))
      (i64.const 32))))

  ;; The code of the row's key $k (ROWKEY, ROWLEN) in dictionary $k, added if new.
  (func $dictCode (param $k i32) (result i32)
    (local $d i32) (local $key v128) (local $len i32) (local $slot i32) (local $entry i32) (local $code i32)
    (local $mask i32) (local $table i32)
    (local.set $d (i32.add (i32.const 1280) (i32.shl (local.get $k) (i32.const 5))))
    (local.set $key (v128.load offset=1024 (i32.shl (local.get $k) (i32.const 4))))
    (local.set $len (i32.load offset=1088 (i32.shl (local.get $k) (i32.const 2))))
    (local.set $table (i32.load (local.get $d)))
    (local.set $mask (i32.load offset=4 (local.get $d)))
    (local.set $slot (i32.and
      (call $hashKey (i64x2.extract_lane 0 (local.get $key)) (i64x2.extract_lane 1 (local.get $key)) (local.get $len))
      (local.get $mask)))
    (loop $probe
      (local.set $entry (i32.load (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 2)))))
      (if (local.get $entry)
        (then
          (local.set $code (i32.sub (local.get $entry) (i32.const 1)))
          (if (i32.and
                (i8x16.all_true (i8x16.eq (local.get $key)
                  (v128.load (i32.add (i32.load offset=8 (local.get $d)) (i32.shl (local.get $code) (i32.const 4))))))
                (i32.eq (local.get $len)
                  (i32.load (i32.add (i32.load offset=12 (local.get $d)) (i32.shl (local.get $code) (i32.const 2))))))
            (then (return (local.get $code))))
          (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (local.get $mask)))
          (br $probe))))
    (local.set $code (i32.load offset=16 (local.get $d)))
    (i32.store offset=16 (local.get $d) (i32.add (local.get $code) (i32.const 1)))
    (global.set $room (i32.sub (global.get $room) (i32.const 1)))
    (v128.store (i32.add (i32.load offset=8 (local.get $d)) (i32.shl (local.get $code) (i32.const 4))) (local.get $key))
    (i32.store (i32.add (i32.load offset=12 (local.get $d)) (i32.shl (local.get $code) (i32.const 2))) (local.get $len))
    (i32.store (i32.add (local.get $table) (i32.shl (local.get $slot) (i32.const 2)))
               (i32.add (local.get $code) (i32.const 1)))
    (local.get $code))

  ;; Rebuilds dictionary $k's table at $at with $size slots (a power of two).
  (func (export "rehashDict") (param $k i32) (param $at i32) (param $size i32)
    (local $d i32) (local $code i32) (local $slot i32) (local $at2 i32)
    (local.set $d (i32.add (i32.const 1280) (i32.shl (local.get $k) (i32.const 5))))
    (memory.fill (local.get $at) (i32.const 0) (i32.shl (local.get $size) (i32.const 2)))
    (i32.store (local.get $d) (local.get $at))
    (i32.store offset=4 (local.get $d) (i32.sub (local.get $size) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $code) (i32.load offset=16 (local.get $d))))
        (local.set $at2 (i32.add (i32.load offset=8 (local.get $d)) (i32.shl (local.get $code) (i32.const 4))))
        (local.set $slot (i32.and
          (call $hashKey (i64.load (local.get $at2)) (i64.load offset=8 (local.get $at2))
            (i32.load (i32.add (i32.load offset=12 (local.get $d)) (i32.shl (local.get $code) (i32.const 2)))))
          (i32.sub (local.get $size) (i32.const 1))))
        (loop $probe
          (if (i32.load (i32.add (local.get $at) (i32.shl (local.get $slot) (i32.const 2))))
            (then
              (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (i32.sub (local.get $size) (i32.const 1))))
              (br $probe))))
        (i32.store (i32.add (local.get $at) (i32.shl (local.get $slot) (i32.const 2)))
                   (i32.add (local.get $code) (i32.const 1)))
        (local.set $code (i32.add (local.get $code) (i32.const 1)))
        (br $each))))

  ;; A hash of the keyCount codes at $at.
  (func $hashCodes (param $at i32) (result i32)
    (local $h i64) (local $k i32)
    (local.set $h (i64.const 0x2545F4914F6CDD1D))
    (loop $each
      (local.set $h (i64.mul
        (i64.xor (local.get $h) (i64.load32_u (i32.add (local.get $at) (i32.shl (local.get $k) (i32.const 2)))))
        (i64.const 0x9E3779B97F4A7C15)))
      (local.set $h (i64.rotl (local.get $h) (i64.const 29)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $each (i32.lt_u (local.get $k) (global.get $keyCount))))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 31)))
                           (i64.const 0x94D049BB133111EB)))
    (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32))))

  ;; A new group of the row's codes (CODES).
  (func $newGroup (result i32)
    (local $g i32)
    (local.set $g (global.get $groups))
    (global.set $groups (i32.add (local.get $g) (i32.const 1)))
    (global.set $room (i32.sub (global.get $room) (i32.const 1)))
    (memory.copy (i32.add (global.get $groupCodes) (i32.shl (i32.mul (local.get $g) (global.get $keyCount)) (i32.const 2)))
                 (i32.const 1104) (i32.shl (global.get $keyCount) (i32.const 2)))
    (local.get $g))

  ;; The group of the row's keys (ROWKEY, ROWLEN): each key's code, then by MODE: 1 (one key) the
  ;; code itself; 2 (two keys) the dense pair table at (code1 << shift) + code2, or -2 when the
  ;; codes do not fit it (JS lays it out again, CODES holding them); 3 a hash table over the codes.
  ;; JS keeps room (see $room) for the row's codes and group.
  (func $group (export "group") (result i32)
    (local $k i32) (local $at i32) (local $entry i32) (local $g i32) (local $slot i32) (local $c1 i32) (local $c2 i32)
    (loop $codes
      (i32.store offset=1104 (i32.shl (local.get $k) (i32.const 2)) (call $dictCode (local.get $k)))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $codes (i32.lt_u (local.get $k) (global.get $keyCount))))
    (if (i32.eq (global.get $mode) (i32.const 1))
      (then
        (local.set $g (i32.load (i32.const 1104)))
        (if (i32.ge_u (local.get $g) (global.get $groups))
          (then (global.set $groups (i32.add (local.get $g) (i32.const 1)))))
        (return (local.get $g))))
    (if (i32.eq (global.get $mode) (i32.const 2))
      (then
        (local.set $c1 (i32.load (i32.const 1104)))
        (local.set $c2 (i32.load (i32.const 1108)))
        (if (i32.or (i32.ge_u (local.get $c2) (i32.shl (i32.const 1) (global.get $shift)))
                    (i32.ge_u (local.get $c1) (global.get $pairRows)))
          (then (return (i32.const -2))))
        (local.set $at (i32.add (global.get $pairs)
          (i32.shl (i32.add (i32.shl (local.get $c1) (global.get $shift)) (local.get $c2)) (i32.const 2))))
        (local.set $entry (i32.load (local.get $at)))
        (if (local.get $entry) (then (return (i32.sub (local.get $entry) (i32.const 1)))))
        (local.set $g (call $newGroup))
        (i32.store (local.get $at) (i32.add (local.get $g) (i32.const 1)))
        (return (local.get $g))))
    (local.set $slot (i32.and (call $hashCodes (i32.const 1104)) (global.get $hmask)))
    (loop $probe
      (local.set $entry (i32.load (i32.add (global.get $htable) (i32.shl (local.get $slot) (i32.const 2)))))
      (if (local.get $entry)
        (then
          (local.set $g (i32.sub (local.get $entry) (i32.const 1)))
          (local.set $at (i32.add (global.get $groupCodes)
            (i32.shl (i32.mul (local.get $g) (global.get $keyCount)) (i32.const 2))))
          (local.set $k (i32.const 0))
          (block $differ
            (loop $each
              (br_if $differ (i32.ne (i32.load (i32.add (local.get $at) (i32.shl (local.get $k) (i32.const 2))))
                                     (i32.load offset=1104 (i32.shl (local.get $k) (i32.const 2)))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $each (i32.lt_u (local.get $k) (global.get $keyCount))))
            (return (local.get $g)))
          (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (global.get $hmask)))
          (br $probe))))
    (local.set $g (call $newGroup))
    (i32.store (i32.add (global.get $htable) (i32.shl (local.get $slot) (i32.const 2)))
               (i32.add (local.get $g) (i32.const 1)))
    (local.get $g))

  ;; Rebuilds the hash table over the groups' codes at $at with $size slots (mode 3).
  (func (export "rehashGroups") (param $at i32) (param $size i32)
    (local $g i32) (local $slot i32)
    (memory.fill (local.get $at) (i32.const 0) (i32.shl (local.get $size) (i32.const 2)))
    (global.set $htable (local.get $at))
    (global.set $hmask (i32.sub (local.get $size) (i32.const 1)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $g) (global.get $groups)))
        (local.set $slot (i32.and
          (call $hashCodes (i32.add (global.get $groupCodes)
            (i32.shl (i32.mul (local.get $g) (global.get $keyCount)) (i32.const 2))))
          (global.get $hmask)))
        (loop $probe
          (if (i32.load (i32.add (local.get $at) (i32.shl (local.get $slot) (i32.const 2))))
            (then
              (local.set $slot (i32.and (i32.add (local.get $slot) (i32.const 1)) (global.get $hmask)))
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
  ;; (GROW 2), a row it does not take (BAIL 3) or a pair of codes the pair table does not hold
  ;; (RELAYOUT 4). Returns where it stopped: a row's start.
  (func (export "scan") (param $pos i32) (param $stop i32) (result i32)
    (local $c i32) (local $field i32) (local $kind i32) (local $slot i32) (local $last i32)
    (local $start i32) (local $rowStart i32) (local $missing i32) (local $n i32) (local $rows i32)
    (local $len i32) (local $bits i32) (local $neg i32) (local $m i64) (local $digitsFrom i32)
    (local $digits i32) (local $frac i32) (local $v f64) (local $g i32) (local $why i32)
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
        ;; A row adds at most keyCount codes and a group.
        (if (i32.le_u (global.get $room) (global.get $keyCount))
          (then (global.set $status (i32.const 2)) (br $exit)))
        (local.set $rowStart (local.get $pos))
        (local.set $why (i32.const 3))
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
          ;; A missing key drops the row (group -1), as pandas' dropna=True does.
          (local.set $g (i32.const -1))
          (if (i32.eqz (local.get $missing))
            (then
              (local.set $g (call $group))
              (if (i32.eq (local.get $g) (i32.const -2))
                (then (local.set $why (i32.const 4)) (br $bail)))))
          (local.set $rows (i32.add (local.get $rows) (i32.const 1)))
          (i32.store (i32.add (global.get $groupsOut) (i32.shl (local.get $n) (i32.const 2))) (local.get $g))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br $row))
        (global.set $status (local.get $why))
        (local.set $pos (local.get $rowStart))))
    (global.set $n (local.get $n))
    (global.set $rows (local.get $rows))
    (local.get $pos))
)
