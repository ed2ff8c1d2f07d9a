/**
 * The one holder of Dawn (the `webgpu` package): its instance, the adapter, the device, and the
 * pipelines compiled for it.
 *
 * Dawn crashes at random (inside `ProcessEvents`, during `mapAsync`) if the object returned by
 * `create()` is garbage-collected while a device made from it is still used; a module-level
 * constant nothing reads again was measured to be collected too. So the instance lives on a
 * property of an object reachable from `globalThis` for as long as a device does, and is dropped,
 * with the device destroyed, at `releaseGpu()` or when the process is about to exit
 * ('beforeExit'), so nothing of Dawn's keeps the process alive.
 *
 * The binding is imported on first use only: `import 'skein'` never loads it, and a program
 * that never asks for a GPU never needs it installed.
 */
import { GpuUnavailableError } from './errors.js';
import type { GpuAdapter, GpuAdapterInfo, GpuComputePipeline, GpuDevice, GpuEntry } from './webgpu-types.js';

/** What `gpuInfo()` says about the adapter. */
export interface GpuInfo {
  /** Vendor and device, as the driver names them (e.g. "nvidia: NVIDIA H100", "mesa: llvmpipe ..."). */
  readonly adapter: string;
  /** The driver's architecture name (e.g. "hopper"; "software" for lavapipe). */
  readonly architecture: string;
  /** A CPU emulation (lavapipe, SwiftShader): right results, no speed. `device: 'auto'` skips it. */
  readonly software: boolean;
  /** The adapter's limits, as WebGPU names them: skein's device asks for these, not WebGPU's lower defaults. */
  readonly limits: {
    /** Largest buffer, in bytes. */
    readonly maxBufferSize: number;
    /** Largest range of a storage buffer one binding may see, in bytes. */
    readonly maxStorageBufferBindingSize: number;
    /** Workgroups per dispatch dimension at most. */
    readonly maxComputeWorkgroupsPerDimension: number;
    /** Alignment, in bytes, of a binding's offset into a buffer. */
    readonly minStorageBufferOffsetAlignment: number;
  };
}

/** A live device and what was compiled for it. Stale once `released` is set. */
export interface GpuContext {
  readonly device: GpuDevice;
  readonly info: GpuInfo;
  /** The device's limits (not the adapter's: a device gets WebGPU's defaults unless it asks). */
  readonly limits: GpuInfo['limits'];
  readonly pipelines: Map<string, Promise<GpuComputePipeline>>;
  released: boolean;
}

type Adapter = { adapter: GpuAdapter; info: GpuInfo } | { reason: string };

interface Holder {
  instance: GpuEntry | undefined;
  adapter: Promise<Adapter> | undefined;
  context: Promise<GpuContext> | undefined;
  live: GpuContext | undefined;
}

const HOLDER = Symbol.for('skein.gpu.dawn');
const holder: Holder = ((globalThis as Record<symbol, unknown>)[HOLDER] as Holder | undefined) ?? {
  instance: undefined,
  adapter: undefined,
  context: undefined,
  live: undefined,
};
(globalThis as Record<symbol, unknown>)[HOLDER] = holder;

const INSTALL_BINDING = 'install the WebGPU binding with `npm install webgpu`';
const INSTALL_DRIVER =
  "install a Vulkan driver: the GPU vendor's (with its Vulkan ICD), or Mesa's lavapipe >= 23 " +
  '(Debian bookworm: `apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1`)';

function isSoftware(info: GpuAdapterInfo): boolean {
  const described = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`;
  return (
    (info as GpuAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    info.architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(described)
  );
}

async function chooseAdapter(): Promise<Adapter> {
  let create: (options: string[]) => GpuEntry;
  try {
    ({ create } = (await import('webgpu')) as { create: (options: string[]) => GpuEntry });
  } catch (error) {
    const missing = (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    return {
      reason: missing
        ? `the WebGPU binding is not installed: ${INSTALL_BINDING}`
        : `the WebGPU binding could not be loaded (${(error as Error).message}); ${INSTALL_BINDING}`,
    };
  }
  holder.instance = create([]);
  const adapter = await holder.instance.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    holder.instance = undefined;
    return { reason: `no WebGPU adapter was found: ${INSTALL_DRIVER}` };
  }
  const raw = adapter.info;
  const info: GpuInfo = {
    adapter: [raw.vendor, raw.device || raw.description].filter(Boolean).join(': '),
    architecture: raw.architecture,
    software: isSoftware(raw),
    limits: {
      maxBufferSize: adapter.limits.maxBufferSize,
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: adapter.limits.maxComputeWorkgroupsPerDimension,
      minStorageBufferOffsetAlignment: adapter.limits.minStorageBufferOffsetAlignment,
    },
  };
  return { adapter, info };
}

function adapterChoice(): Promise<Adapter> {
  holder.adapter ??= chooseAdapter();
  return holder.adapter;
}

/** The adapter's description, or null when there is none (no binding, no driver). */
export async function gpuInfo(): Promise<GpuInfo | null> {
  const choice = await adapterChoice();
  return 'info' in choice ? choice.info : null;
}

/** Whether `device: 'auto'` should use the device: only for a hardware adapter. */
export async function hasHardwareGpu(): Promise<boolean> {
  const info = await gpuInfo();
  return info !== null && !info.software;
}

async function openDevice(): Promise<GpuContext> {
  const choice = await adapterChoice();
  if (!('adapter' in choice)) throw new GpuUnavailableError(`no GPU for device 'gpu': ${choice.reason}`);
  const { limits } = choice.info;
  // The adapter's own limits, not WebGPU's defaults (256 MiB buffers, 256-byte offsets).
  const device = await choice.adapter.requestDevice({ requiredLimits: { ...limits } });
  const context: GpuContext = {
    device,
    info: choice.info,
    limits: {
      maxBufferSize: device.limits.maxBufferSize,
      maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      minStorageBufferOffsetAlignment: device.limits.minStorageBufferOffsetAlignment,
    },
    pipelines: new Map(),
    released: false,
  };
  holder.live = context;
  process.once('beforeExit', releaseGpu);
  return context;
}

/**
 * Runs `work` (which encodes and submits device work) and turns the device's validation and
 * out-of-memory errors into a rejection: WebGPU reports them out of band, and an unreported one
 * would leave a result of zeros.
 */
export async function checked<T>(context: GpuContext, what: string, work: () => Promise<T>): Promise<T> {
  const { device } = context;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  const outcome = await work().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  const invalid = await device.popErrorScope();
  const memory = await device.popErrorScope();
  if (memory) throw new Error(`the GPU ran out of memory while ${what}: ${memory.message}`);
  if (invalid)
    throw new Error(`the GPU refused the work while ${what} (a skein/gpu bug: please report it): ${invalid.message}`);
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** The device, opened on first use and kept until `releaseGpu()`. */
export function gpuDevice(): Promise<GpuContext> {
  if (!holder.context) {
    holder.context = openDevice();
    holder.context.catch(() => {
      holder.context = undefined;
    });
  }
  return holder.context;
}

/**
 * Destroys the device (and with it every device array) and lets go of Dawn, so that nothing of
 * it keeps the process alive. The next GPU call opens a new device. Called by itself when the
 * process is about to exit.
 */
export function releaseGpu(): void {
  process.removeListener('beforeExit', releaseGpu);
  const live = holder.live;
  if (live) {
    live.released = true;
    live.pipelines.clear();
    live.device.destroy();
  }
  holder.live = undefined;
  holder.context = undefined;
  holder.adapter = undefined;
  holder.instance = undefined;
}
