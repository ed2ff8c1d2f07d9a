/**
 * The channel between the parent and a `Process` child that carries its Pipe Connections and
 * the calls of its proxies (Manager objects, primitives: broker-channel.ts): a socket pair of its
 * own (the child's fd 3, made by `fork`'s stdio), framed by frame-codec.ts.
 *
 *   parent: Process ── FrameChannel(child.stdio[3]'s handle) ◄══ socketpair ══► FrameChannel(fd 3) :child
 *
 * Why not Node's IPC channel, which is already open: each IPC message goes through Node's generic
 * message machinery (a JSON or v8 envelope, internal-message filtering, an event per message), and
 * a Pipe round trip paid that four times. Here a frame is a few bytes written straight to the
 * socket: each side reads with `onread` into one reused buffer (no stream chunk per read) and
 * writes with a plain write(2) on its fd while the socket has nothing queued (no stream
 * bookkeeping per write, no write request completing a loop turn later). Frames sent in the same
 * tick are written together, in one system call; batches of proxy calls and replies, gathered by
 * broker-channel.ts, are written at once.
 *
 * IPC still carries the start message and tells the child when the parent is gone ('disconnect').
 */
import { writeSync } from 'node:fs';
import { type OnReadOpts, Socket, type SocketConstructorOpts } from 'node:net';
import { encodeFlatList, encodeFrame, type FrameHandler, FrameKind, FrameReader } from './frame-codec.js';

/** A call or calls frame as the flat batch broker-channel.ts serves (`[call, id, method, args]`...). */
export function brokerCallsOf(kind: FrameKind, value: unknown): unknown[] {
  const flat = value as unknown[];
  return kind === FrameKind.call ? [flat[0], flat[1], flat[2], flat.slice(3)] : flat;
}

/** The child's end of the channel: this fd, given by the parent's `fork` stdio. */
export const CHILD_CHANNEL_FD = 3;

/** Bytes read at a time on the child's side (a longer frame is read in several pieces). */
const READ_BUFFER = 64 * 1024;

const RESOLVED = Promise.resolve();

/** Reads into one reused buffer, each read fed to `reader` (no stream chunk per read). */
function readerInto(reader: FrameReader): OnReadOpts {
  return {
    buffer: Buffer.allocUnsafe(READ_BUFFER),
    callback: (n, buffer) => {
      reader.feed(Buffer.from(buffer.buffer, buffer.byteOffset, n));
      return true; // keep reading
    },
  };
}

/** One end of the channel: `send` frames, hear frames and the close. */
export class FrameChannel {
  readonly #socket: Socket;
  /** The fd to write(2) on directly, when this side knows it (the child's). */
  readonly #fd: number | undefined;
  #queued: Buffer[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #flushNow = () => this.#flush();

  private constructor(socket: Socket, fd: number | undefined, onClose: () => void) {
    this.#socket = socket;
    this.#fd = fd;
    socket.on('error', () => {}); // EPIPE and the like: the 'close' that follows tells the rest
    socket.on('close', () => {
      this.#closed = true;
      this.#queued = [];
      onClose();
    });
  }

  /**
   * The parent's end, over the socket `fork` made for stdio[CHILD_CHANNEL_FD]. Its handle is
   * taken over by a socket of our own that reads with `onread` and writes straight to its fd, as
   * the child's end does: `fork`'s socket would turn each read into a stream chunk (a new buffer,
   * a 'data' event, a tick) and each write into a request completed a loop turn later, which
   * together cost a Manager call a fifth of its round trip. `fork`'s socket is left without a
   * handle; only its 'close' is lost, which ChildProcess's own 'close' event waits for (skein
   * listens for 'exit' and for this channel's close).
   */
  static parentSide(forkSocket: Socket, onFrame: FrameHandler, onClose: () => void): FrameChannel {
    const reader = new FrameReader(onFrame);
    const handle = (forkSocket as unknown as { _handle?: { fd?: unknown } | null })._handle;
    const fd = handle?.fd;
    if (!handle || typeof fd !== 'number' || fd < 0) {
      // Not a plain fd (not expected on a Unix system): the stream's own reads and writes.
      const channel = new FrameChannel(forkSocket, undefined, onClose);
      forkSocket.on('data', (chunk: Buffer) => reader.feed(chunk));
      return channel;
    }
    // The handle is reading already (fork's socket started it): `manualStart` keeps this socket
    // from starting it again; reads now land in `onread` (the handle's owner is this socket).
    const options: SocketConstructorOpts & { onread: OnReadOpts; handle: unknown; manualStart: boolean } = {
      handle,
      manualStart: true,
      readable: true,
      writable: true,
      onread: readerInto(reader),
    };
    const socket = new Socket(options);
    // fork's socket lets go of the handle, so that nothing it does later (ChildProcess resumes
    // its stdio streams at exit) can restart, stop or close it under this socket.
    const forked = forkSocket as unknown as { _handle: unknown };
    forked._handle = null;
    forkSocket.on('error', () => {});
    return new FrameChannel(socket, fd, onClose);
  }

  /** The child's end, over fd CHILD_CHANNEL_FD. */
  static childSide(onFrame: FrameHandler, onClose: () => void): FrameChannel {
    const reader = new FrameReader(onFrame);
    // `onread` is read by the Socket constructor too (net.connect passes its options on to it),
    // though @types/node lists it for connect only.
    const options: SocketConstructorOpts & { onread: OnReadOpts } = {
      fd: CHILD_CHANNEL_FD,
      readable: true,
      writable: true,
      onread: readerInto(reader),
    };
    const socket = new Socket(options);
    return new FrameChannel(socket, CHILD_CHANNEL_FD, onClose);
  }

  /**
   * Whether the other end is gone or this one was destroyed. The socket's `destroyed` counts at
   * once: its fd is closed then, 'close' only follows, and a write(2) on that number in between
   * could land in whatever the process opened next under it.
   */
  get closed(): boolean {
    return this.#closed || this.#socket.destroyed;
  }

  /**
   * Queues a frame; it is written at the end of this tick, with the others queued in it. Throws
   * in the caller if `value` cannot be cloned, or if the channel is closed.
   */
  send(kind: FrameKind, id: number, value?: unknown): void {
    if (this.closed) throw new Error('the channel to the other process is closed: it has exited');
    this.#queued.push(encodeFrame(kind, id, value));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      // A promise reaction, not queueMicrotask: that one wraps each callback in an async
      // resource, which costs more than the write it schedules.
      void RESOLVED.then(this.#flushNow);
    }
  }

  /**
   * Writes what is queued, then ends this side: resolves once everything sent is handed to the
   * system (the other side reads it, then sees the end), or at once if the channel is closed.
   */
  end(): Promise<void> {
    this.#flush();
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.#socket.once('close', resolve);
      this.#socket.end(resolve);
    });
  }

  /**
   * Sends a batch of proxy calls (broker-channel.ts, `[call, id, method, args, ...]`). A batch of
   * one goes flat, so that a call with scalar arguments (`d.set('k', 1)`) skips the v8 serializer.
   */
  sendBrokerCalls(calls: unknown[]): void {
    if (calls.length === 4 && Array.isArray(calls[3])) {
      this.#sendNow(encodeFlatList(FrameKind.call, [calls[0], calls[1], calls[2], ...calls[3]]));
    } else {
      this.#sendNow(encodeFrame(FrameKind.calls, 0, calls));
    }
  }

  /** Sends a batch of replies (`[call, ok, value, ...]`); one reply is flat already. */
  sendBrokerReplies(replies: unknown[]): void {
    this.#sendNow(
      replies.length === 3 ? encodeFlatList(FrameKind.reply, replies) : encodeFrame(FrameKind.replies, 0, replies),
    );
  }

  /**
   * Writes `frame` now, after whatever is queued: broker-channel.ts batches its calls and replies
   * itself (they leave at the end of the microtasks that made them), so waiting another microtask
   * would only lengthen the round trip.
   */
  #sendNow(frame: Buffer): void {
    if (this.closed) throw new Error('the channel to the other process is closed: it has exited');
    this.#queued.push(frame);
    this.#flush();
  }

  /** Whether the channel keeps the event loop alive. */
  setKeepAlive(keepAlive: boolean): void {
    if (keepAlive) this.#socket.ref();
    else this.#socket.unref();
  }

  /** Closes the channel now; frames not yet written are dropped. */
  destroy(): void {
    this.#socket.destroy();
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.closed || this.#queued.length === 0) return;
    const queued = this.#queued;
    this.#queued = [];
    let bytes = queued.length === 1 ? (queued[0] as Buffer) : Buffer.concat(queued);
    if (this.#fd !== undefined && this.#socket.writableLength === 0) {
      // Nothing queued in the stream, so a direct write keeps the order. The socket is
      // non-blocking: what does not fit now (EAGAIN, or a short write) goes through the stream.
      try {
        const written = writeSync(this.#fd, bytes);
        if (written === bytes.length) return;
        bytes = bytes.subarray(written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
          this.#socket.destroy(); // the other side is gone (EPIPE): 'close' tells the rest
          return;
        }
      }
    }
    this.#socket.write(bytes);
  }
}
