/**
 * Multi-threaded tfjs-backend-wasm in Node, without patching files in node_modules. tfjs 4.22 turns threads off in
 * Node (`WASM_HAS_MULTITHREAD_SUPPORT` is hard-wired to false when `IS_NODE`, tfjs issue #3830): forced on, its
 * emscripten loader hands `worker_threads.Worker` a `blob:` URL, which Node refuses (`ERR_WORKER_PATH`). This shim,
 * active only while `tf.setBackend('wasm')` runs and restored afterwards:
 *
 * - replaces `globalThis.Blob` by a subclass that keeps its text, and `URL.createObjectURL` by one that writes the
 *   two scripts tfjs builds (the pthread worker and the main module the workers import) to files in a private
 *   temporary folder and returns their paths; the worker file starts with a line that maps the worker's own
 *   `URL.createObjectURL` to the main-module file, and the main-module file with the bundle helpers its text uses;
 * - lifts tfjs's thread cap (`init_with_threads_count` allows at most `emscripten_num_logical_cores() / 2`,
 *   which assumes SMT, i.e. 1 thread on a 2-vCPU machine) by letting `os.cpus()` report twice the requested count.
 *
 * emscripten preloads a pool of 8 workers while the backend initialises, so every worker has read both files when
 * the shim is removed; at most 8 threads are used. The folder is removed as soon as the backend is ready. Node-only: this
 * module imports `node:` modules dynamically and is itself imported only when the environment is Node.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Workers emscripten preloads in tfjs-backend-wasm 4.22 (`pthreadPoolSize`): the most threads the shim serves. */
export const WASM_WORKER_POOL = 8;

const MAIN_PREFIX = 'var WasmBackendModuleThreadedSimd';

/** How long the threaded module may take to start its workers before the single-thread build is used instead. */
const INIT_TIMEOUT_MS = 30_000;

/** The rollup/tslib helpers the threaded module's factory text refers to outside itself (tfjs 4.22 node bundle). */
const HELPERS = [
  "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), require$$4 = require('os');",
  'var commonjsGlobal = globalThis;',
  'var __values = function (o) { var s = typeof Symbol === "function" && Symbol.iterator, m = s && o[s], i = 0; if (m) return m.call(o); if (o && typeof o.length === "number") return { next: function () { if (o && i >= o.length) o = void 0; return { value: o && o[i++], done: !o }; } }; throw new TypeError(s ? "Object is not iterable." : "Symbol.iterator is not defined."); };',
  'var __read = function (o, n) { var m = typeof Symbol === "function" && o[Symbol.iterator]; if (!m) return o; var i = m.call(o), r, ar = [], e; try { while ((n === void 0 || n-- > 0) && !(r = i.next()).done) ar.push(r.value); } catch (error) { e = { error: error }; } finally { try { if (r && !r.done && (m = i["return"])) m.call(i); } finally { if (e) throw e.error; } } return ar; };',
  'var __spreadArray = function (to, from, pack) { if (pack || arguments.length === 2) for (var i = 0, l = from.length, ar; i < l; i++) { if (ar || !(i in from)) { if (!ar) ar = Array.prototype.slice.call(from, 0, i); ar[i] = from[i]; } } return to.concat(ar || Array.prototype.slice.call(from)); };',
].join('\n');

/** Outcome of {@link initThreadedWasm}: the thread count tfjs reports, or why threads could not start. */
export type ThreadedWasmResult = { readonly ok: true; readonly threads: number } | { readonly ok: false; readonly reason: string };

/**
 * Initialise the wasm backend with `threads` XNNPACK threads (capped at {@link WASM_WORKER_POOL}). Call only in
 * Node, with `@tensorflow/tfjs-backend-wasm` imported and the backend not yet initialised in this process.
 */
export async function initThreadedWasm(
  wasm: { setThreadsCount(n: number): void; getThreadsCount(): number },
  threads: number,
): Promise<ThreadedWasmResult> {
  const [fs, path, os, wt] = await Promise.all([
    import(/* @vite-ignore */ 'node:fs'),
    import(/* @vite-ignore */ 'node:path'),
    import(/* @vite-ignore */ 'node:os'),
    import(/* @vite-ignore */ 'node:worker_threads'),
  ]);
  const n = Math.min(threads, WASM_WORKER_POOL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapterkit-wasm-threads-'));
  const cleanup = (): void => fs.rmSync(dir, { recursive: true, force: true });
  const mainFile = path.join(dir, 'tfjs-backend-wasm-threaded-simd.main.js');
  const workerFile = path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js');

  const OrigBlob = globalThis.Blob;
  const origCreate = URL.createObjectURL;
  const osModule = ((os as unknown as { default?: { cpus: typeof os.cpus } }).default ?? os) as { cpus: typeof os.cpus };
  const origCpus = osModule.cpus;
  // the workers emscripten creates, to report their errors and to stop them if the module never gets ready
  const wtModule = ((wt as unknown as { default?: { Worker: typeof wt.Worker } }).default ?? wt) as { Worker: typeof wt.Worker };
  const OrigWorker = wtModule.Worker;
  const workers: InstanceType<typeof wt.Worker>[] = [];
  let workerError: unknown;
  let failed: (() => void) | undefined;
  class TrackedWorker extends OrigWorker {
    constructor(...args: ConstructorParameters<typeof wt.Worker>) {
      super(...args);
      workers.push(this);
      this.once('error', (err) => {
        workerError ??= err;
        failed?.();
      });
    }
  }
  const texts = new WeakMap<Blob, string>();
  class TextBlob extends OrigBlob {
    constructor(parts?: ConstructorParameters<typeof Blob>[0], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts ?? [], options);
      if (!parts?.every((p) => typeof p === 'string')) return;
      const text = parts.join('');
      texts.set(this, text);
      // the main module is never given to createObjectURL here: the workers receive the Blob itself
      if (text.startsWith(MAIN_PREFIX)) {
        fs.writeFileSync(mainFile, `${HELPERS}\nvar __filename = ${JSON.stringify(mainFile)}, __dirname = ${JSON.stringify(dir)};\n${text}\n`);
      }
    }
  }
  globalThis.Blob = TextBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob) => {
    const text = texts.get(obj);
    if (text?.startsWith(MAIN_PREFIX)) return mainFile;
    if (text?.includes('nodeWorkerThreads')) {
      fs.writeFileSync(workerFile, `URL.createObjectURL = function () { return ${JSON.stringify(mainFile)}; }; URL.revokeObjectURL = function () {};\n${text}\n`);
      return workerFile;
    }
    return origCreate(obj);
  };
  osModule.cpus = () => {
    const cpus = origCpus();
    return Array.from({ length: Math.max(2 * n, cpus.length) }, (_, i) => cpus[i % cpus.length]!);
  };
  wtModule.Worker = TrackedWorker as typeof wt.Worker;
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(n);
  const factory = tf.findBackendFactory('wasm');
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    // the tfjs bundle builds the main-module Blob before it asks for the worker, both inside setBackend
    const gaveUp = new Promise<'failed'>((resolve) => {
      failed = () => resolve('failed');
      // kept referenced: a stalled start leaves nothing else that holds the event loop, and Node would exit (code 13,
      // an unsettled top-level await) instead of falling back to one thread when the timer fires
      timer = setTimeout(failed, INIT_TIMEOUT_MS);
    });
    const ready = await Promise.race([tf.setBackend('wasm'), gaveUp]);
    if (ready === 'failed') {
      // stop the half-started module and give tfjs a fresh wasm registration for the single-thread build
      for (const w of workers) void w.terminate();
      tf.removeBackend('wasm');
      if (factory) tf.registerBackend('wasm', factory, 2);
      const why = workerError instanceof Error ? `a worker failed: ${workerError.message}` : `its workers did not start within ${INIT_TIMEOUT_MS / 1000} s`;
      return { ok: false, reason: `the threaded wasm module did not initialise (${why})` };
    }
    if (!ready) return { ok: false, reason: 'the threaded wasm module failed to initialise' };
    // emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads run for the life of the module:
    // unref them so that they do not keep Node alive (they wait on shared memory, not on the event loop)
    const module = (tf.findBackend('wasm') as unknown as { wasm?: { PThread?: { runningWorkers?: Array<{ unref?: () => void }> } } }).wasm;
    for (const worker of module?.PThread?.runningWorkers ?? []) worker.unref?.();
    return { ok: true, threads: wasm.getThreadsCount() };
  } catch (err) {
    return { ok: false, reason: `the threaded wasm module failed to initialise: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    if (timer) clearTimeout(timer);
    wtModule.Worker = OrigWorker;
    // every pooled worker has read both files once the module is ready
    cleanup();
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    osModule.cpus = origCpus;
  }
}
