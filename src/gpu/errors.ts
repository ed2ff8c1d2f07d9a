/** The errors of `skein/gpu`. A captured variable is skein's `CapturedVariableError`, as for pools. */

/**
 * The kernel's function uses something a GPU kernel cannot do (a string, an object, an unknown
 * call, a `while` loop...) or mixes types WGSL keeps apart. The message names the construct and
 * its line and column in the function's source.
 */
export class KernelCompileError extends TypeError {
  /** `'KernelCompileError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'KernelCompileError';
}

/** `device: 'gpu'` (or a device array) was asked for, and no WebGPU adapter can be had. */
export class GpuUnavailableError extends Error {
  /** `'GpuUnavailableError'`, so that `error.name` and stack traces say which error this is. */
  override name = 'GpuUnavailableError';
}
