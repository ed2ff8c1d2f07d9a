/** A real Redis and real `skein worker` processes for the distributed tests. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

export function redisAvailable(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A loopback port nothing listens on (it was free a moment ago): for "Redis is not there" tests. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A redis-server on a free loopback port, with append-only persistence, in a temporary folder. */
export class TestRedis {
  private process: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly password: string | undefined,
  ) {}

  /** On `port` if given (a port a client already points at), else on a free one; `password`: requirepass. */
  static async start(port?: number, password?: string): Promise<TestRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'skein-redis-'));
    const redis = new TestRedis(port ?? (await freePort()), dir, password);
    await redis.run();
    return redis;
  }

  get url(): string {
    return `redis://${this.password ? `:${this.password}@` : ''}127.0.0.1:${this.port}`;
  }

  private async run(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
        ...(this.password ? ['--requirepass', this.password] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.process = child;
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    await waitFor(() => output.includes('Ready to accept connections') || child.exitCode !== null, 'redis to start');
    if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
  }

  /** Starts it again after kill(), on the same port and with the same files. */
  async resume(): Promise<void> {
    await this.run();
  }

  /** SIGKILL: it has no chance to save more than its append-only file already holds. */
  async kill(): Promise<void> {
    const child = this.process;
    // Killed already (a signal leaves exitCode null): its 'exit' has been and will not come again.
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A TCP relay in front of a Redis, whose line can be cut: `cut()` drops every connection through
 * it and refuses new ones until `restore()`. It is how a client sees a network outage that the
 * workers (connected straight to Redis) do not.
 */
export class CuttableLine {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private open = true;

  private constructor(redisPort: number) {
    this.server = createServer((client) => this.relay(client, redisPort));
  }

  static async to(redisPort: number): Promise<CuttableLine> {
    const line = new CuttableLine(redisPort);
    await new Promise<void>((resolve) => line.server.listen(0, '127.0.0.1', resolve));
    return line;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  cut(): void {
    this.open = false;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private relay(client: Socket, redisPort: number): void {
    if (!this.open) {
      client.destroy();
      return;
    }
    const upstream = connect(redisPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }
}

type WorkerProcess = ChildProcess & { log: () => string };

/** A `skein worker` child process, started and not waited for; `log()` is its output so far. */
export function spawnWorker(url: string, modules: string[], extra: string[] = []): WorkerProcess {
  const args = [
    '--import',
    'tsx',
    CLI,
    'worker',
    '--connection',
    url,
    ...modules.flatMap((m) => ['--module', m]),
    ...extra,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }) as WorkerProcess;
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log += chunk;
  });
  child.stdout?.on('data', (chunk) => {
    log += chunk;
  });
  child.log = () => log;
  return child;
}

/** A `skein worker` child process; resolves once it serves. */
export async function startWorker(url: string, modules: string[], extra: string[] = []): Promise<WorkerProcess> {
  const child = spawnWorker(url, modules, extra);
  await waitFor(() => child.log().includes('serving') || child.exitCode !== null, 'the worker to start', 20_000);
  if (child.exitCode !== null) throw new Error(`the worker exited: ${child.log()}`);
  return child;
}

export async function stopWorker(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill(signal);
  return exited;
}
