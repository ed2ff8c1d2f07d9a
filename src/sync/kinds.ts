/**
 * Every kind of shared primitive, loaded. A worker thread imports this module (by the URL below,
 * so that it gets the very module instance that task code importing skein gets) before it
 * rebuilds the primitives passed to a task.
 */
import './barrier.js';
import './condition.js';
import './event.js';
import './lock.js';
import './queue.js';
import './semaphore.js';
import './shared-value.js';

export { reviveShared } from './shared-memory.js';

export const KINDS_MODULE_URL: string = import.meta.url;
