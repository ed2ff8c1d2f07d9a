/**
 * The task-state word: how the pool knows, after a worker died, which of the tasks it had
 * handed over were running, finished or never started, although results travel in batches.
 *
 *   worker, before a task:  word = 2n + 1   (running the n-th task it took, counting from 0)
 *   worker, when idle:      word = 2n       (n tasks over, none running)
 *
 * The pool counts the answers it received (`answered`), so on the worker's death the tasks it
 * still holds, oldest first, are: [answered, n) finished but their answers were lost with the
 * worker, n the one running if the word is odd, and the rest never started (they run elsewhere).
 *
 * Writing it is cheap enough for every task: a store into shared memory for a thread; for a child
 * process a 4-byte positioned write into a file that the pool opened, unlinked at once and
 * passed as a file descriptor, so the kernel's page cache keeps the word after a SIGKILL and
 * nothing is left on disk. A thread's buffer holds a second word, written by the pool: the id
 * of the running task it gave up on (timeout, abort), which shared primitives read before they
 * hand anything to that task (see `Symbol.for('skein.taskStopped')` in worker-entry.ts).
 */

/** Index of the task-state word in a thread's buffer. */
export const TASK_STATE_WORD = 0;
/** Index of the stopped-task word (written by the pool) in a thread's buffer. */
export const TASK_STATE_STOPPED = 1;
/** Bytes of a thread's task-state buffer. */
export const TASK_STATE_BYTES = 8;
/** The file descriptor, in a child process, of its task-state file. */
export const TASK_STATE_FD = 4;

/** What a task-state word says: tasks finished, and whether the next one was running. */
export function readTaskState(word: number): { finished: number; running: boolean } {
  return { finished: word >>> 1, running: (word & 1) === 1 };
}
