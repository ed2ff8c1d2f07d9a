/**
 * The parking lot every primitive of src/sync waits on, written once (Trio's lesson: one
 * mechanism under every primitive, so a fix to waiting is made in one place).
 *
 * Two pieces:
 *
 * 1. The owner-word mutex (a 3-state futex mutex, after Drepper's "Futexes Are Tricky", with the
 *    owner folded in). One Int32 word, next to a count of the threads asleep on it:
 *      0             free
 *      owner*2       held by thread `owner` (threadId + 1), nobody asleep
 *      owner*2 + 1   held, and someone may be asleep on the word: release must wake one
 *      -1            broken: its holder died
 *    The owner is set by the very compare-and-swap that takes the word, so a thread cannot die
 *    between "took it" and "recorded that it took it". `Lock` is this word with a public face;
 *    `Queue` guards its few lines of bookkeeping with one.
 *
 *    Every blocking wait on a word that has a sleepers count sleeps through `sleepCounted`.
 *
 * 2. The async wait driver. The async waiters of one primitive in one thread queue in a local
 *    FIFO list (waiters.ts); one driver per thread stands for them all on a futex word, with one
 *    `Atomics.waitAsync` at a time, never one per waiter (an `Atomics.waitAsync` cannot be
 *    withdrawn: aborted waits would each hold one until the next wake-up). What the driver does
 *    on each round (take the lock, a permit, an item...) is the primitive's; the loop, the
 *    sleeper count and the "am I asleep" flag that local hand-off needs are here.
 */
import { remaining, THIS_THREAD, waitSync } from './shared-memory.js';

/** Owner word: nobody holds it. */
export const FREE = 0;
/** Owner word: its holder died while holding it. */
export const BROKEN = -1;
/** Owner word: held by this thread, nobody asleep on it. */
export const HELD = THIS_THREAD * 2;
/** Owner word: held by this thread, and someone may be asleep (release must wake one). */
export const HELD_CONTENDED = HELD + 1;

/** The thread (threadId + 1) that holds an owner word in `state`; 0 when free. */
export function ownerOf(state: number): number {
  return state >> 1;
}

/** Takes a free owner word for this thread, uncontended. Never waits. */
export function tryLockWord(memory: Int32Array, word: number): boolean {
  return Atomics.compareExchange(memory, word, FREE, HELD) === FREE;
}

/** A look at an owner word: run it again at once (the word moved under us). */
export const AGAIN = Symbol('again');
/** A look at an owner word: this thread took it. */
export const TAKEN = Symbol('taken');

/**
 * One look at an owner word someone else may hold, on the contended path: takes it if it is free
 * (as contended: others may still be asleep, and our release must wake one), or marks it
 * contended so that its holder's release wakes someone. Returns TAKEN, AGAIN, BROKEN, or the
 * held state to sleep on (sleep only while the word still holds it).
 */
export function lockWordStep(memory: Int32Array, word: number): number | typeof AGAIN | typeof TAKEN {
  const state = Atomics.load(memory, word);
  if (state === BROKEN) return BROKEN;
  if (state === FREE) return Atomics.compareExchange(memory, word, FREE, HELD_CONTENDED) === FREE ? TAKEN : AGAIN;
  if ((state & 1) === 0) {
    Atomics.compareExchange(memory, word, state, state | 1);
    return AGAIN;
  }
  return state;
}

/** How `lockWordContended` ended. */
export type LockWordOutcome = 'taken' | 'timed out' | 'broken';

/**
 * The contended path of taking an owner word, blocking: looks (lockWordStep) and calls
 * `sleep(state)` between looks (it must count itself in the sleepers word while asleep on
 * `word`, and sleep only while the word still holds `state`) until the word is taken, broken,
 * or `deadline` (performance.now() time) has passed.
 */
export function lockWordContended(
  memory: Int32Array,
  word: number,
  deadline: number,
  sleep: (state: number) => void,
): LockWordOutcome {
  for (;;) {
    const step = lockWordStep(memory, word);
    if (step === TAKEN) return 'taken';
    if (step === AGAIN) continue;
    if (step === BROKEN) return 'broken';
    if (performance.now() >= deadline) return 'timed out';
    sleep(step);
  }
}

/**
 * Blocks this thread on `word` while it holds `expected`, until `deadline` at the latest, counted
 * in the `sleepers` word meanwhile (so that whoever changes the word knows to wake someone, and a
 * release knows not to hand off locally past a sleeping thread).
 */
export function sleepCounted(
  memory: Int32Array,
  word: number,
  sleepers: number,
  expected: number,
  deadline: number,
): void {
  Atomics.add(memory, sleepers, 1);
  waitSync(memory, word, expected, deadline);
  Atomics.sub(memory, sleepers, 1);
}

/**
 * Wakes one thread asleep on `word` (counted in `sleepers`) and takes it off the count at once,
 * as `sleepTakenOffByWaker` expects. Until a woken thread runs (milliseconds on a busy machine),
 * it would otherwise still look asleep, and every change meanwhile would pay a wake-up nobody
 * needs: on a queue, one per item.
 */
export function wakeOneCounted(memory: Int32Array, word: number, sleepers: number): void {
  const woken = Atomics.notify(memory, word, 1);
  if (woken > 0) Atomics.sub(memory, sleepers, woken);
}

/** `wakeOneCounted` for every thread asleep on `word`. */
export function wakeAllCounted(memory: Int32Array, word: number, sleepers: number): void {
  const woken = Atomics.notify(memory, word);
  if (woken > 0) Atomics.sub(memory, sleepers, woken);
}

/**
 * Blocks this thread on `word` while it holds `expected`, until `deadline` at the latest, counted
 * in `sleepers` meanwhile; whoever wakes it takes it off that count (`wakeOneCounted`), so it
 * takes itself off only when it wakes by itself (timed out, or the word had already changed).
 */
export function sleepTakenOffByWaker(
  memory: Int32Array,
  word: number,
  sleepers: number,
  expected: number,
  deadline: number,
): void {
  Atomics.add(memory, sleepers, 1);
  if (Atomics.wait(memory, word, expected, remaining(deadline)) !== 'ok') Atomics.sub(memory, sleepers, 1);
}

const MIN_SPIN = 16;
const MAX_SPIN = 4096;

/**
 * A short spin before a sleep, as long as spinning has lately paid. Waiting for a word to change
 * on a thread that is running elsewhere takes well under a microsecond, far less than a sleep and
 * a wake-up; but when the cores are oversubscribed the other thread is often not running at all,
 * and a spin only burns the time slice that thread needs. So the spin doubles after a spin that
 * saw the change and halves after one that did not, between MIN_SPIN and MAX_SPIN looks.
 * One per primitive object, that is per thread.
 */
export class AdaptiveSpin {
  #limit = MAX_SPIN / 4;

  /** Looks at `word` until it no longer holds `expected` (true) or the spin is over (false). */
  untilChanged(memory: Int32Array, word: number, expected: number): boolean {
    const limit = this.#limit;
    for (let spin = 0; spin < limit; spin++) {
      if (Atomics.load(memory, word) !== expected) {
        if (limit < MAX_SPIN) this.#limit = limit * 2;
        return true;
      }
    }
    if (limit > MIN_SPIN) this.#limit = limit >> 1;
    return false;
  }
}

/**
 * After an owner word was freed from `released` (its value just before): wakes one sleeper if
 * the word was marked contended and someone is counted asleep in `sleepers`.
 */
export function wakeAfterUnlock(memory: Int32Array, word: number, sleepers: number, released: number): void {
  if ((released & 1) === 1 && Atomics.load(memory, sleepers) > 0) Atomics.notify(memory, word, 1);
}

/**
 * A thread died: if it held the owner word, the word becomes BROKEN and every sleeper is woken to
 * find that out. Returns whether the dead thread held it.
 */
export function breakIfHeldBy(memory: Int32Array, word: number, deadThread: number): boolean {
  const state = Atomics.load(memory, word);
  if (state <= 0 || ownerOf(state) !== deadThread) return false;
  if (Atomics.compareExchange(memory, word, state, BROKEN) === state) Atomics.notify(memory, word);
  return true;
}

/**
 * Takes an owner word guarding a few synchronous lines (a Queue's bookkeeping), blocking briefly:
 * allowed even on the main thread, since its holder leaves within a microsecond unless it was
 * descheduled. False if the word is broken, or held past `patienceMs` (its holder died inside).
 */
export function lockBriefly(memory: Int32Array, word: number, sleepers: number, patienceMs: number): boolean {
  if (Atomics.compareExchange(memory, word, FREE, HELD) === FREE) return true;
  // A holder that is running leaves within a microsecond or so: spinning beats a sleep and a wake-up.
  for (let spin = 0; spin < 1024; spin++) {
    if (Atomics.load(memory, word) === FREE && Atomics.compareExchange(memory, word, FREE, HELD) === FREE) return true;
  }
  const outcome = lockWordContended(memory, word, performance.now() + patienceMs, (state) => {
    Atomics.add(memory, sleepers, 1);
    Atomics.wait(memory, word, state, 50);
    Atomics.sub(memory, sleepers, 1);
  });
  return outcome === 'taken';
}

/** Releases a word taken with `lockBriefly`, waking one thread asleep on it if any. */
export function unlockBriefly(memory: Int32Array, word: number, sleepers: number): void {
  wakeAfterUnlock(memory, word, sleepers, Atomics.exchange(memory, word, FREE));
}

/** What a driver needs from its primitive. */
export interface DriverRounds {
  /** How many of this thread's waiters are still waiting (the driver stops at 0). */
  readonly pending: () => number;
  /**
   * Serves the waiters with what the shared state allows now, then returns the value the word
   * must still hold for the driver to sleep (it sleeps only while the word is unchanged), or
   * AGAIN to run another round at once (the loop ends there if no waiter is left).
   */
  readonly serve: () => number | typeof AGAIN;
  /** After a wake-up ('ok', 'not-equal' or 'timed-out'): e.g. pass on a wake-up nobody here wants. */
  readonly woken?: (result: string) => void;
}

/**
 * One thread's async driver for one futex word of one primitive: while this thread has waiters,
 * it serves them and sleeps on the word between rounds, as one sleeper for them all.
 */
export class WaitDriver {
  /** True while the driver is asleep on the word (and counted in the sleepers word). */
  asleep = false;
  #running = false;

  /**
   * @param sleepers The word that counts the threads asleep on `word`, or -1 if the primitive
   *   keeps no such count (a Condition counts waits, not sleepers).
   * @param wakerTakesOff True when whoever wakes a sleeper takes it off `sleepers` (wakeOneCounted):
   *   the driver then takes itself off only when it wakes by itself.
   */
  constructor(
    private readonly memory: Int32Array,
    private readonly word: number,
    private readonly sleepers: number,
    private readonly rounds: DriverRounds,
    private readonly wakerTakesOff = false,
  ) {}

  /**
   * Whether no thread other than this driver is asleep on the word: then a release may hand what
   * it frees straight to a waiter of this thread (a resolved promise, nothing shared touched)
   * without starving anyone.
   */
  noOtherSleeper(): boolean {
    return Atomics.load(this.memory, this.sleepers) === (this.asleep ? 1 : 0);
  }

  /** Makes sure the driver is running (it stops by itself once no waiter is left). */
  start(): void {
    if (!this.#running) void this.#run();
  }

  async #run(): Promise<void> {
    this.#running = true;
    const { memory, word, sleepers, rounds, wakerTakesOff } = this;
    try {
      while (rounds.pending() > 0) {
        const expected = rounds.serve();
        if (expected === AGAIN) continue;
        if (rounds.pending() === 0) return;
        if (sleepers >= 0) Atomics.add(memory, sleepers, 1);
        this.asleep = true;
        const wait = Atomics.waitAsync(memory, word, expected);
        const result = wait.async ? await wait.value : wait.value;
        this.asleep = false;
        if (sleepers >= 0 && !(wakerTakesOff && result === 'ok')) Atomics.sub(memory, sleepers, 1);
        rounds.woken?.(result);
      }
    } finally {
      this.#running = false;
    }
  }
}
