// Acquiring a WebGPU device through the optional `webgpu` package (Dawn on Vulkan). Loaded lazily:
// the CPU engine never needs it, and a machine without the package or a Vulkan driver still runs.
export interface GpuHandle {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** vendor / architecture / description as the adapter reports them. */
  info: { vendor: string; architecture: string; device: string; description: string };
  /** A software rasterizer (Mesa lavapipe / llvmpipe, SwiftShader): correct but not fast. */
  software: boolean;
  /** The `GPU` instance the device came from: it must stay reachable while the device is used (see below). */
  instance: unknown;
}

/**
 * Instances of live devices. Dawn's node binding does not keep the instance alive through its
 * devices: once the `GPU` object from create() was garbage-collected, the next wait crashed the
 * process ("The futex facility returned an unexpected error code", `std::system_error: Invalid
 * argument`, a pthread mutex assertion, or a segfault). Any allocation-heavy code (a hot loop,
 * a big decode) could trigger that GC, which is why `node --no-opt` only changed the odds.
 * Reproduced on lavapipe 25.0: 8/8 runs crashed with a local instance, 0/8 with a kept one.
 */
const liveInstances = new Set<unknown>();

let gpuModule: any | undefined;
/** Every `GPU` instance handed out, kept reachable for the process's life (see acquireGpu). */
const gpuInstances: unknown[] = [];

async function loadWebgpu(): Promise<any | undefined> {
  if (gpuModule !== undefined) return gpuModule || undefined;
  try {
    const mod: any = await import("webgpu");
    // The package's enums (GPUBufferUsage, GPUMapMode, …) are expected as globals by WGSL host code.
    Object.assign(globalThis, mod.globals);
    gpuModule = mod;
  } catch {
    gpuModule = null;
  }
  return gpuModule || undefined;
}

function isSoftware(info: GpuHandle["info"]): boolean {
  const s = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return /llvmpipe|lavapipe|swiftshader|software|mesa.*cpu/.test(s) || info.vendor === "mesa" && !/radv|intel|nvidia|amd/.test(s);
}

/**
 * A device, or `undefined` with the reason when none can be had (no package, no adapter).
 * `allowSoftware: false` refuses a software adapter (what `device: auto` wants).
 */
export async function acquireGpu(opts: { allowSoftware?: boolean } = {}): Promise<{ gpu?: GpuHandle; reason?: string }> {
  const mod = await loadWebgpu();
  if (!mod) return { reason: "the optional package `webgpu` is not installed" };
  let adapter: GPUAdapter | null = null;
  let gpu: any;
  try {
    gpu = mod.create([]);
    // Dawn's event processing uses the instance without holding it: once V8 collects the `GPU`
    // object, the next wait locks a freed mutex (futex / "Owner died" / segfault). Keep them all.
    gpuInstances.push(gpu);
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch (e: any) {
    return { reason: `no WebGPU adapter: ${e?.message ?? e}` };
  }
  if (!adapter) return { reason: "no WebGPU adapter (no Vulkan driver found)" };
  const ai: any = adapter.info ?? {};
  const info = { vendor: String(ai.vendor ?? ""), architecture: String(ai.architecture ?? ""), device: String(ai.device ?? ""), description: String(ai.description ?? "") };
  const software = isSoftware(info);
  if (software && opts.allowSoftware === false) return { reason: `only a software adapter (${info.vendor} ${info.device || info.description})` };
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
    },
  });
  liveInstances.add(gpu);
  void device.lost.then(() => liveInstances.delete(gpu));
  return { gpu: { device, adapter, info, software, instance: gpu } };
}
