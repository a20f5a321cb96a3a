import * as tf from '@tensorflow/tfjs-core';
import { detectEnvironment, logicalCores, type Environment } from './environment';
import { BackendError } from './errors';
import { registerTrainingKernels } from './kernels';
import { loadNative, nativeKernelsActive, type NativeModule } from './native';
import { initThreadedWasm, provideNodeWebGPU, WASM_WORKER_POOL } from '#platform';

/**
 * Backends AdapterKit can select. `tensorflow` = tfjs-node-gpu or tfjs-node (native libtensorflow); `native` =
 * `@adapterkit/native` (the wasm backend with native OpenBLAS matMul kernels); `webgpu` / `webgl` = the GPU backends
 * (WebGPU in Node through the `webgpu` package); `wasm` = tfjs-backend-wasm (threads in Node through a shim);
 * `cpu` = tfjs-backend-cpu (plain JavaScript, slow).
 */
export type BackendName = 'tensorflow' | 'native' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Every {@link BackendName}, in no particular order. */
export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'native', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** The order `initBackend()` tries, per environment (webgpu in Node only with a hardware adapter). */
export const BACKEND_ORDER: Readonly<Record<Environment, readonly BackendName[]>> = {
  node: ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'],
  browser: ['webgpu', 'webgl', 'wasm', 'cpu'],
};

/** True for a name {@link initBackend} knows. */
export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

/** Result of {@link initBackend}. */
export interface BackendInfo {
  /** The AdapterKit backend chosen. */
  readonly name: BackendName;
  /** tfjs backend id actually active (`tf.getBackend()`: `tensorflow`, `webgpu`, `webgl`, `wasm`, `cpu`). */
  readonly tfBackend: string;
  /** Package(s) that provide it, with versions where known, e.g. `@tensorflow/tfjs-backend-wasm 4.22.0`. */
  readonly package: string;
  /** CPU threads the backend computes with (wasm: XNNPACK threads as tfjs reports them; cpu: 1); absent for GPUs. */
  readonly threads?: number;
  /** The GPU adapter (webgpu), e.g. `google swiftshader (fallback)`. */
  readonly device?: string;
  /** Where the library runs. */
  readonly environment: Environment;
  /** Backends tried before this one and why they were skipped. */
  readonly skipped: ReadonlyArray<{ readonly name: BackendName; readonly reason: string }>;
  /** What differs from the plain backend: thread caps, precision, kernels that are missing for training. */
  readonly notes: readonly string[];
}

/** The tfjs backend packages {@link initBackend} can load, by the backend they provide. */
export const BACKEND_PACKAGES = {
  webgpu: '@tensorflow/tfjs-backend-webgpu',
  webgl: '@tensorflow/tfjs-backend-webgl',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
} as const;

/**
 * Loaders of the tfjs backend packages, for bundled apps: each returns the package's module (importing it registers
 * the backend with tfjs-core). A bundler resolves `() => import('@tensorflow/tfjs-backend-webgl')` written in the app
 * and splits it into a chunk that loads only when that backend is tried; the library itself cannot name optional
 * packages in a way every bundler resolves. A backend without a loader is imported by package name at run time
 * (Node, or a page with an import map); in a bundle that fails and the backend is skipped with the reason.
 */
export type BackendModules = { readonly [K in keyof typeof BACKEND_PACKAGES]?: () => Promise<unknown> };

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Loaders of the backend packages (see {@link BackendModules}); needed in bundled browser apps. */
  readonly modules?: BackendModules;
  /**
   * CPU threads for wasm (and native): default all logical cores in Node (at most 8, the worker pool tfjs preloads),
   * `navigator.hardwareConcurrency` in a cross-origin-isolated page. The count is fixed for the process at the first
   * wasm initialisation; a later call with another count keeps it and says so in `notes`.
   */
  readonly threads?: number;
  /**
   * webgpu only: let tfjs compute small tensors on the cpu backend (`WEBGPU_CPU_FORWARD`, tfjs's default true).
   * Set false to run everything on the GPU (parity and tests do).
   */
  readonly cpuForward?: boolean;
  /**
   * Keep tfjs's console warnings (default false). By default `initBackend` sets tfjs's `PROD` flag
   * (`tf.enableProdMode()`), the supported switch that silences `backend_util.warn`/`log` — among them the
   * "Hi, looks like you are running TensorFlow.js in Node.js" banner the cpu backend prints on first use in every
   * Node process. `PROD` changes nothing else in tfjs 4.22.
   */
  readonly tfjsWarnings?: boolean;
}

type Activated = { pkg: string; threads?: number; device?: string; notes?: string[] };

/**
 * The module of `name`'s backend package: the loader from `options.modules` when given, else an import by package
 * name (the name is held in a variable, so bundlers leave the import alone instead of failing on an optional
 * package that is not installed). A reason string when neither works.
 */
async function loadBackendModule(name: keyof typeof BACKEND_PACKAGES, options: InitBackendOptions): Promise<{ mod: unknown } | string> {
  const pkg = BACKEND_PACKAGES[name];
  const loader = options.modules?.[name];
  try {
    if (loader) return { mod: await loader() };
    const spec: string = pkg;
    return { mod: await import(/* @vite-ignore */ spec) };
  } catch (err) {
    const first = err instanceof Error ? err.message.split('\n')[0] : String(err);
    if (loader) return `the loader given for ${name} (options.modules.${name}) failed: ${first}`;
    const hint = detectEnvironment() === 'browser' ? ` (in a bundled app pass \`modules: { ${name}: () => import('${pkg}') }\`)` : '';
    return `${pkg} could not be imported by name: ${first}${hint}`;
  }
}

async function tryImport(pkg: string): Promise<boolean> {
  try {
    await import(/* @vite-ignore */ pkg);
    return true;
  } catch {
    return false;
  }
}

async function version(pkg: string, mod: unknown): Promise<string> {
  const v = (mod as { version_wasm?: string; version_webgpu?: string; version_webgl?: string; version_cpu?: string; version?: string } | undefined) ?? {};
  const found = v.version_wasm ?? v.version_webgpu ?? v.version_webgl ?? v.version_cpu ?? v.version;
  return found ? `${pkg} ${found}` : pkg;
}

interface WasmModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
  version_wasm?: string;
}

/** The thread count the first wasm initialisation of this process asked for (tfjs fixes it per process). */
let wasmThreadsAsked: number | undefined;

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: readonly ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];

/**
 * Run `fn` (which starts the wasm module) and remove the `uncaughtException`/`unhandledRejection` listeners it
 * added to `process`. tfjs-backend-wasm's Emscripten module installs listeners that rethrow every error, so an
 * uncaught error anywhere in the process made Node print the rethrowing line — 39 KB of minified tfjs source — and
 * exit with code 7. Without them Node's own handling applies again: the error's message and stack, exit code 1.
 * Listeners the application added itself are left alone.
 */
async function withoutWasmProcessListeners<T>(env: Environment, fn: () => Promise<T>): Promise<T> {
  type Listener = (...args: unknown[]) => void;
  type Emitter = { listeners(event: string): Listener[]; removeListener(event: string, listener: Listener): unknown };
  const proc = (globalThis as { process?: Emitter }).process;
  if (env !== 'node' || proc === undefined) return fn();
  const before = new Map(PROCESS_EVENTS.map((e) => [e, new Set(proc.listeners(e))]));
  try {
    return await fn();
  } finally {
    for (const e of PROCESS_EVENTS) {
      for (const l of proc.listeners(e)) if (!before.get(e)!.has(l)) proc.removeListener(e, l);
    }
  }
}

async function activateWasm(env: Environment, options: InitBackendOptions): Promise<Activated | string> {
  return withoutWasmProcessListeners(env, () => activateWasmModule(env, options));
}

async function activateWasmModule(env: Environment, options: InitBackendOptions): Promise<Activated | string> {
  const threads = options.threads;
  const loaded = await loadBackendModule('wasm', options);
  if (typeof loaded === 'string') return loaded;
  const wasm = loaded.mod as WasmModule;
  const pkg = await version('@tensorflow/tfjs-backend-wasm', wasm);
  const notes: string[] = [];
  const want = threads ?? (await logicalCores());
  if (wasmThreadsAsked !== undefined) {
    if (!(await tf.setBackend('wasm'))) return 'the wasm backend failed to initialise';
    const actual = wasm.getThreadsCount();
    if (threads !== undefined && threads !== actual) notes.push(`threads: ${threads} asked, but the wasm backend of this process was initialised with ${actual} (fixed per process)`);
    return { pkg, threads: actual, notes };
  }
  wasmThreadsAsked = want;
  if (env === 'node' && want > 1) {
    if (want > WASM_WORKER_POOL) notes.push(`threads: ${want} asked, capped at the ${WASM_WORKER_POOL} workers tfjs-backend-wasm preloads`);
    const result = await initThreadedWasm(wasm, want);
    if (result.ok) return { pkg: `${pkg} (threaded-simd)`, threads: result.threads, notes };
    notes.push(`wasm threads unavailable, running 1 thread: ${result.reason}`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
  } else {
    if (env === 'browser' && want > 1 && !(globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) {
      notes.push('wasm threads need a cross-origin-isolated page (COOP/COEP headers): running 1 thread');
    }
    wasm.setThreadsCount(want);
  }
  if (!(await tf.setBackend('wasm'))) return 'the wasm backend failed to initialise';
  return { pkg, threads: wasm.getThreadsCount(), notes };
}

async function activateWebGPU(env: Environment, asked: boolean, options: InitBackendOptions): Promise<Activated | string> {
  let device: string | undefined;
  if (env === 'node') {
    const found = await provideNodeWebGPU(!asked);
    if (typeof found === 'string') return found;
    device = `${found.description}${found.fallback ? ' (fallback: a CPU implementation of WebGPU, slow)' : ''}`;
  } else {
    const found = await browserGpuAdapter(!asked);
    if (typeof found === 'string') return found;
    device = `${found.description}${found.fallback ? ' (fallback: a CPU implementation of WebGPU, slow)' : ''}`;
  }
  // only now that navigator.gpu exists: the package checks it when it registers the backend
  const loaded = await loadBackendModule('webgpu', options);
  if (typeof loaded === 'string') return loaded;
  const mod = loaded.mod;
  if (!tf.findBackendFactory('webgpu')) return '@tensorflow/tfjs-backend-webgpu did not register (navigator.gpu missing when it was first imported)';
  if (options.cpuForward !== undefined) tf.env().set('WEBGPU_CPU_FORWARD', options.cpuForward);
  if (!(await tf.setBackend('webgpu'))) return 'the webgpu backend failed to initialise (no GPU device)';
  const notes = [
    env === 'node'
      ? 'GPU tensors: read them with `await tensor.data()`; dataSync() needs OffscreenCanvas in Node'
      : 'GPU tensors: read them with `await tensor.data()`; dataSync() blocks the page until the GPU is done',
  ];
  if (tf.env().getBool('WEBGPU_CPU_FORWARD')) notes.push('WEBGPU_CPU_FORWARD: small tensors are computed on the cpu backend');
  return { pkg: await version('@tensorflow/tfjs-backend-webgpu', mod), ...(device ? { device } : {}), notes };
}

interface BrowserGpuAdapter {
  readonly info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

/**
 * The page's WebGPU adapter (`navigator.gpu.requestAdapter()`), or why there is none. A fallback (software) adapter
 * such as SwiftShader is refused when `hardwareOnly` (webgpu not asked for by name), as in Node.
 */
async function browserGpuAdapter(hardwareOnly: boolean): Promise<{ description: string; fallback: boolean } | string> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(o?: object): Promise<BrowserGpuAdapter | null> } } }).navigator?.gpu;
  if (!gpu) return 'this browser has no navigator.gpu (WebGPU is off or unsupported; pages need a secure context: https or localhost)';
  let adapter: BrowserGpuAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (err) {
    return `navigator.gpu.requestAdapter() failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  if (!adapter) return 'navigator.gpu.requestAdapter() gave no adapter (no usable GPU; Chromium may need --enable-unsafe-webgpu)';
  const info = adapter.info ?? {};
  const description = [info.vendor, info.architecture, info.device, info.description].filter((x) => x).join(' ') || 'unnamed adapter';
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  if (hardwareOnly && fallback) return `only a fallback WebGPU adapter (${description}: a CPU implementation, slower than the other backends); ask for webgpu by name to use it`;
  return { description, fallback };
}

async function activateWebGL(env: Environment, options: InitBackendOptions): Promise<Activated | string> {
  if (env === 'node') return 'WebGL needs a browser (a WebGL2 canvas context); in Node use webgpu, wasm or cpu';
  const loaded = await loadBackendModule('webgl', options);
  if (typeof loaded === 'string') return loaded;
  const mod = loaded.mod;
  if (!(await tf.setBackend('webgl'))) return 'the webgl backend failed to initialise (no WebGL2 context)';
  const notes: string[] = [];
  if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) notes.push('this device renders float16 textures only: results lose precision (float32 not available)');
  return { pkg: await version('@tensorflow/tfjs-backend-webgl', mod), notes };
}

async function activate(name: BackendName, env: Environment, asked: boolean, options: InitBackendOptions, native: { mod?: NativeModule }): Promise<Activated | string> {
  switch (name) {
    case 'tensorflow':
      for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
        if (await tryImport(pkg)) {
          if (await tf.setBackend('tensorflow')) return { pkg };
        }
      }
      return 'neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (their install downloads libtensorflow)';
    case 'native': {
      if (env !== 'node') return '@adapterkit/native runs in Node only';
      const loaded = await loadNative();
      if (typeof loaded === 'string') return loaded;
      const wasm = await activateWasm(env, options);
      if (typeof wasm === 'string') return `@adapterkit/native runs on the wasm backend: ${wasm}`;
      native.mod = loaded.mod;
      return { ...wasm, pkg: `@adapterkit/native ${loaded.version} (${loaded.blas}) on ${wasm.pkg}` };
    }
    case 'webgpu':
      return activateWebGPU(env, asked, options);
    case 'webgl':
      return activateWebGL(env, options);
    case 'wasm': {
      const wasm = await activateWasm(env, options);
      // plain wasm after `native` in the same process: put the stock kernels back
      if (typeof wasm !== 'string' && nativeKernelsActive()) {
        const loaded = await loadNative();
        if (typeof loaded !== 'string') loaded.mod.uninstallNativeKernels?.();
      }
      return wasm;
    }
    case 'cpu': {
      const loaded = await loadBackendModule('cpu', options);
      if (typeof loaded === 'string') return loaded;
      const mod = loaded.mod;
      if (!(await tf.setBackend('cpu'))) return 'the cpu backend failed to initialise';
      return { pkg: await version('@tensorflow/tfjs-backend-cpu', mod), threads: 1 };
    }
  }
}

/**
 * Select a tfjs backend and register what training needs on it. Without `preferred`, tries the best available for
 * the environment ({@link BACKEND_ORDER}; Node: tensorflow → webgpu with a hardware GPU adapter → native → wasm →
 * cpu; browser: webgpu → webgl → wasm → cpu) and reports what it skipped and why. With `preferred`, that backend or a
 * typed error: `UNKNOWN_BACKEND` for a name it does not know, `BACKEND_UNAVAILABLE` with the reason.
 *
 * @throws BackendError `UNKNOWN_BACKEND`, `BACKEND_UNAVAILABLE`, `NO_BACKEND`, `BAD_THREADS`
 */
export async function initBackend(preferred?: BackendName | string, options: InitBackendOptions = {}): Promise<BackendInfo> {
  if (preferred !== undefined && !isBackendName(preferred)) {
    throw new BackendError('UNKNOWN_BACKEND', `Unknown backend '${preferred}': expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
    throw new BackendError('BAD_THREADS', `threads must be a positive integer, got ${options.threads}`);
  }
  const env = detectEnvironment();
  if (!options.tfjsWarnings) tf.env().set('PROD', true);
  const skipped: Array<{ name: BackendName; reason: string }> = [];
  const candidates = preferred ? [preferred] : BACKEND_ORDER[env];
  for (const name of candidates) {
    const native: { mod?: NativeModule } = {};
    const result = await activate(name, env, preferred !== undefined, options, native);
    if (typeof result === 'string') {
      skipped.push({ name, reason: result });
      continue;
    }
    await tf.ready();
    const missing = await registerTrainingKernels();
    const notes = [...(result.notes ?? [])];
    let threads = result.threads;
    if (native.mod) {
      const installed = native.mod.installNativeKernels({ threads: threads ?? 1 });
      threads = installed.threads;
      notes.push(`native kernels (${installed.blas}): ${installed.kernels.join(', ')}`);
    }
    if (missing.length > 0) notes.push(`kernels missing for training on ${tf.getBackend()}: ${missing.join(', ')}`);
    return {
      name,
      tfBackend: tf.getBackend(),
      package: result.pkg,
      ...(threads !== undefined ? { threads } : {}),
      ...(result.device ? { device: result.device } : {}),
      environment: env,
      skipped,
      notes,
    };
  }
  if (preferred) throw new BackendError('BACKEND_UNAVAILABLE', `Backend '${preferred}' is not available: ${skipped[0]!.reason}`);
  throw new BackendError('NO_BACKEND', `No usable tfjs backend: ${skipped.map((s) => `${s.name}: ${s.reason}`).join('; ')}`);
}

/**
 * One line for logs and CLIs: `wasm (@tensorflow/tfjs-backend-wasm 4.22.0 (threaded-simd), 2 threads)`, plus the
 * device for GPUs. `tf.getBackend()` is read again, so a later `tf.setBackend` elsewhere shows.
 */
export function describeBackend(info: BackendInfo): string {
  const active = tf.getBackend();
  const parts = [info.package];
  if (info.threads !== undefined) parts.push(`${info.threads} thread${info.threads === 1 ? '' : 's'}`);
  if (info.device) parts.push(info.device);
  const name = info.name === active ? active : `${info.name} on tfjs ${active}`;
  return `${name} (${parts.join(', ')})`;
}
