// Ported from seed article 004 ("When multiple threads access shared data ... you must ensure
// thread safety"): five threads each add 1 to a shared counter 10,000 times, under a lock.
//
// In Python the threads share `counter` because they share one interpreter. Node's threads are
// separate isolates, so the counter lives in shared memory (SharedValue), and the Lock too.
// Without the lock, `counter.value += 1` (a read, then a write) loses updates when two threads
// interleave: see test/sync/lock.test.ts, which shows it.
import { Lock, SharedValue, Thread } from 'skein';

function increment(counter: SharedValue<'int32'>, lock: Lock, times: number): void {
  for (let i = 0; i < times; i++) {
    lock.withLockSync(() => {
      counter.value += 1;
    });
  }
}

const counter = new SharedValue('int32', 0);
const lock = new Lock();
const threads = Array.from({ length: 5 }, () => new Thread({ target: increment, args: [counter, lock, 10_000] }));
for (const thread of threads) thread.start();
for (const thread of threads) await thread.join();
console.log('Final counter value:', counter.value);
