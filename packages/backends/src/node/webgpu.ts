/**
 * WebGPU in Node through the `webgpu` npm package (Dawn's `dawn.node`). Node-only: imported dynamically by
 * `initBackend` when the environment is Node. Without a GPU, Dawn needs a Vulkan driver: SwiftShader (a CPU Vulkan
 * implementation) ships with Debian's `chromium` package, and is used when `VK_ICD_FILENAMES` is unset and no other
 * adapter answers. Dawn also needs the Vulkan loader `libvulkan.so.1` (Debian `libvulkan1`).
 */

/** Default location of SwiftShader's Vulkan driver manifest in Debian's `chromium` package. */
export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** What {@link provideNodeWebGPU} found. */
export interface NodeGpuAdapter {
  /** Vendor, architecture, device or description of the adapter, e.g. `google swiftshader`. */
  readonly description: string;
  /** True for a CPU (software) adapter such as SwiftShader: `initBackend()` only picks webgpu on its own without it. */
  readonly fallback: boolean;
  /** `VK_ICD_FILENAMES` in effect, when set. */
  readonly icd?: string;
}

interface DawnAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean; adapterType?: string };
  readonly isFallbackAdapter?: boolean;
}
interface DawnGpu {
  requestAdapter(options?: object): Promise<DawnAdapter | null>;
}

function describe(adapter: DawnAdapter): { description: string; fallback: boolean } {
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter((s) => s).join(' ') || 'unknown adapter';
  const software = /swiftshader|llvmpipe|lavapipe|software/i.test(description) || info.adapterType === 'cpu';
  return { description, fallback: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter) || software };
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** Device nodes through which a Linux process reaches a hardware GPU (Mesa/DRM, NVIDIA, WSL's D3D12 bridge). */
const GPU_DEVICE_NODES: readonly { dir: string; prefix: string }[] = [
  { dir: '/dev/dri', prefix: 'renderD' },
  { dir: '/dev', prefix: 'nvidia' },
  { dir: '/dev', prefix: 'dxg' },
];

/** Whether this Linux machine exposes a GPU device node; without one no hardware Vulkan adapter can answer. */
export function hasGpuDeviceNode(existsSync: (p: string) => boolean, readdirSync: (p: string) => string[]): boolean {
  return GPU_DEVICE_NODES.some(({ dir, prefix }) => existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(prefix)));
}

function hasVulkanDriver(existsSync: (p: string) => boolean, readdirSync: (p: string) => string[]): boolean {
  if (process.env['VK_ICD_FILENAMES'] || process.env['VK_DRIVER_FILES']) return true;
  return ICD_DIRS.some((d) => existsSync(d) && readdirSync(d).some((f) => f.endsWith('.json')));
}

/**
 * Make `navigator.gpu` available in Node (and the `GPUBufferUsage`-style constants tfjs-backend-webgpu reads from the
 * global scope, where they are missing), or say why it cannot. Leaves an existing `navigator.gpu` alone. Returns a
 * reason string when no adapter is available. With `hardwareOnly` (how `initBackend()` probes without being asked
 * for webgpu), SwiftShader is not tried and a fallback adapter is a reason, with nothing installed.
 */
export async function provideNodeWebGPU(hardwareOnly: boolean): Promise<NodeGpuAdapter | string> {
  const g = globalThis as { navigator?: { gpu?: DawnGpu } };
  if (g.navigator?.gpu) {
    const adapter = await g.navigator.gpu.requestAdapter();
    if (!adapter) return 'navigator.gpu returned no adapter';
    const found = describe(adapter);
    return hardwareOnly && found.fallback ? `only a fallback (software) WebGPU adapter: ${found.description}` : found;
  }
  const { existsSync, readdirSync } = await import(/* @vite-ignore */ 'node:fs');
  if (hardwareOnly && process.platform === 'linux' && !hasVulkanDriver(existsSync, readdirSync)) {
    // checked before loading Dawn, which prints its Vulkan warnings to stderr
    return 'no Vulkan driver is installed (no VK_ICD_FILENAMES, nothing in /usr/share/vulkan/icd.d or /etc/vulkan/icd.d)';
  }
  if (hardwareOnly && process.platform === 'linux' && !process.env['VK_ICD_FILENAMES'] && !hasGpuDeviceNode(existsSync, readdirSync)) {
    // Mesa's driver manifests are installed with many desktop packages even where there is no GPU; probing them would
    // load Dawn, which prints each driver's rejection to stderr in every process that calls initBackend()
    return 'no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg): no hardware GPU is visible to this process';
  }
  let dawn: { create(flags: string[]): DawnGpu; globals: Record<string, unknown> };
  try {
    dawn = (await import(/* @vite-ignore */ 'webgpu')) as unknown as typeof dawn;
  } catch (err) {
    return `the webgpu package (Dawn for Node) is not installed or does not load: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
  }
  const useSwiftShader = (): boolean => !hardwareOnly && process.env['VK_ICD_FILENAMES'] === undefined && existsSync(SWIFTSHADER_ICD);
  if (process.platform === 'linux' && !hasVulkanDriver(existsSync, readdirSync) && useSwiftShader()) {
    // no other driver: go straight to SwiftShader (Dawn warns on stderr when it finds no driver)
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
  }
  let gpu = dawn.create([]);
  let adapter = await gpu.requestAdapter();
  if (!adapter && !hardwareOnly && process.env['VK_ICD_FILENAMES'] === undefined && existsSync(SWIFTSHADER_ICD)) {
    // the Vulkan loader reads VK_ICD_FILENAMES whenever Dawn creates an instance
    process.env['VK_ICD_FILENAMES'] = SWIFTSHADER_ICD;
    gpu = dawn.create([]);
    adapter = await gpu.requestAdapter();
    if (!adapter) delete process.env['VK_ICD_FILENAMES'];
  }
  if (!adapter) {
    return (
      'no WebGPU adapter: Dawn found no Vulkan driver (install a GPU driver, or Debian packages `libvulkan1` and ' +
      `\`chromium\` for the SwiftShader CPU driver, or set VK_ICD_FILENAMES to a driver manifest such as ${SWIFTSHADER_ICD})`
    );
  }
  const found = describe(adapter);
  if (hardwareOnly && found.fallback) return `only a fallback (software) WebGPU adapter: ${found.description} (ask for webgpu to use it)`;
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) Object.defineProperty(globalThis, key, { value, configurable: true, writable: true });
  }
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, configurable: true, writable: true });
  Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  const icd = process.env['VK_ICD_FILENAMES'];
  return { ...found, ...(icd ? { icd } : {}) };
}
