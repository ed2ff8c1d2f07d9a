/**
 * The transports under a Pipe's ends (connection.ts): a `Link` carries frames between two ends,
 * over a MessagePort in one process, or over a child's channel (process.ts, process-entry.ts);
 * a `Relay` is where the frames of an end handed to a child go while the parent relays them.
 */
import type { MessagePort } from 'node:worker_threads';

/** A frame on a link: `[value]` carries one value, `null` says the sender closed its end. */
export type Frame = [unknown] | null;

/** What a Connection sends through and hears from: a MessagePort, or a child's IPC relay. */
export interface Link {
  /** Sends a frame; throws (DataCloneError) in the caller if the value cannot be cloned. */
  post(frame: Frame): void;
  /** Stops the link; no frame is delivered afterwards. */
  close(): void;
  /** Keep the program alive (a recv is waiting) or not. */
  setKeepAlive(keepAlive: boolean): void;
  /** Drops the transport without telling either end (it is being replaced by a direct one). */
  dispose?(): void;
}

/** A link over a MessagePort (the same process, or the parent's side of a relay). */
export function portLink(port: MessagePort, onFrame: (frame: Frame) => void, onClose: () => void): Link {
  port.on('message', onFrame);
  port.on('close', onClose);
  port.unref();
  return {
    post: (frame) => port.postMessage(frame),
    close: () => port.close(),
    setKeepAlive: (keepAlive) => (keepAlive ? port.ref() : port.unref()),
    dispose: () => {
      port.off('message', onFrame);
      port.off('close', onClose);
      port.close();
    },
  };
}

/** Where frames go once an end was handed to a child process (process.ts relays them over IPC). */
export interface Relay {
  forward(frame: Frame): void;
  /** The other end's transport closed without an EOF frame. */
  closed(): void;
}
