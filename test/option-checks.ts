/**
 * The shared shape of the option-key tests (test/<folder>/options.test.ts): for each public entry
 * point, every documented option is accepted and a misspelled one is a TypeError that names it,
 * the closest known option and the whole list. The documented lists here are written out by hand
 * from the docs on purpose: they are the check on each entry point's list in src/.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';

/** One entry point under test. */
export interface OptionsCase {
  /** How the error names the call, e.g. `new ThreadPoolExecutor(options)`. */
  readonly where: string;
  /** Every option the docs list for it. */
  readonly documented: readonly string[];
  /** Values the call needs to succeed (a required `target`...); every other documented key is undefined. */
  readonly required?: Readonly<Record<string, unknown>>;
  /** A misspelling, and the documented key it should suggest. */
  readonly misspelled: readonly [typo: string, meant: string];
  /** Makes the call; what it returns is awaited (a rejection counts as the error) and then `cleanUp`. */
  readonly call: (options: Record<string, unknown>) => unknown;
  /** Releases what a successful call made (shuts a pool down...). */
  readonly cleanUp?: (made: unknown) => unknown;
}

/** The error a call throws or rejects with, or undefined if it succeeded (`made` then holds its value). */
async function outcome(run: () => unknown): Promise<{ error: unknown; made: unknown }> {
  try {
    return { error: undefined, made: await run() };
  } catch (error) {
    return { error, made: undefined };
  }
}

const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Registers the two tests of one entry point. */
export function itChecksOptionKeys(entry: OptionsCase): void {
  it(`${entry.where} accepts every documented option`, async () => {
    const options: Record<string, unknown> = Object.fromEntries(entry.documented.map((key) => [key, undefined]));
    Object.assign(options, entry.required);
    const { error, made } = await outcome(() => entry.call(options));
    assert.equal(error, undefined, `${entry.where} refused its documented options: ${String(error)}`);
    await entry.cleanUp?.(made);
  });

  it(`${entry.where} rejects a misspelled option, suggesting the right one`, async () => {
    const [typo, meant] = entry.misspelled;
    const { error, made } = await outcome(() => entry.call({ ...entry.required, [typo]: 4 }));
    if (error === undefined) await entry.cleanUp?.(made);
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${String(error)}`);
    assert.match(
      error.message,
      new RegExp(
        `^${literal(entry.where)}: unknown option '${literal(typo)}' \\(did you mean '${literal(meant)}'\\?\\)`,
      ),
    );
    for (const key of entry.documented) assert.ok(error.message.includes(key), `the message lists '${key}'`);
  });
}
