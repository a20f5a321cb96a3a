/**
 * `pnpm parity [--golden DIR] [--cases GLOB[,GLOB]] [--backend cpu|wasm|webgpu|native|…] [--threads N] [--prefer-bin]`: runs
 * every case of a golden folder against the installed method packages on the backend asked for (an unavailable
 * backend is an error) and prints the backend actually active, PASS|FAIL|SKIP lines and a summary; exit 1 on any FAIL.
 */
import { fileURLToPath } from 'node:url';
import type { BackendName } from '@adapterkit/backends';
import type { ParityTolerance } from '@adapterkit/testkit';
import { parseScriptArgs } from './lib/script-args';

const { values } = parseScriptArgs(
  'parity',
  [
    'Usage: pnpm parity [--golden DIR] [--cases GLOB[,GLOB]] [--backend NAME] [--threads N] [--prefer-bin]',
    '',
    "Compares every case of the golden folder (the reference library's recorded outputs) with this implementation on",
    'one backend and prints PASS|FAIL|SKIP model/case max_abs_diff, then a summary; exit code 1 on any FAIL.',
    '',
    'Options:',
    '  --golden DIR       golden folder (default fixtures/golden)',
    "  --cases GLOBS      comma-separated case globs, e.g. 'bert/*,gpt2/lora' (default: every case)",
    '  --backend NAME     tensorflow|native|webgpu|webgl|wasm|cpu (default cpu); unavailable = exit code 2',
    '  --threads N        threads of the wasm/native backend',
    "  --prefer-bin       load the reference's .bin weights where both formats exist",
    '  -h, --help         this help',
  ].join('\n'),
  {
    golden: { type: 'string' },
    cases: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'prefer-bin': { type: 'boolean' },
  },
);
const arg = (name: 'golden' | 'cases' | 'backend' | 'threads'): string | undefined => values[name] as string | undefined;
// loaded once the command line is known to be valid (--help and a wrong option answer at once)
const { BackendError, describeBackend, initBackend } = await import('@adapterkit/backends');
const { discoverPlugins, runParity } = await import('@adapterkit/testkit');

/**
 * Tolerance per backend: `golden` = the golden folder's (`index.json`: outputs atol 1e-4; training-step gradients
 * `|a−b| ≤ 1e-5 + 1e-3·|ref|`), or an explicit {@link ParityTolerance}. Every backend keeps the golden tolerance:
 * the largest output difference measured over all `bert/*` cases was 1.19e-6 on webgpu (Node, SwiftShader; the
 * Pfeiffer training step at 1 % of its gradient tolerance), and the wasm run with 2 threads passes every case, so
 * no backend needs a looser bound. webgl is not testable in Node (issue 19 measures it in a browser).
 */
const TOLERANCE: Readonly<Record<BackendName, ParityTolerance | 'golden'>> = {
  tensorflow: 'golden',
  native: 'golden',
  webgpu: 'golden',
  webgl: 'golden',
  wasm: 'golden',
  cpu: 'golden',
};

const goldenDir = arg('golden') ?? fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const backend = arg('backend') ?? 'cpu';
const threadsArg = arg('threads');
let info;
try {
  // webgpu: everything on the GPU (tfjs would compute small tensors on the cpu backend)
  info = await initBackend(backend, { ...(threadsArg !== undefined ? { threads: Number(threadsArg) } : {}), cpuForward: false });
} catch (err) {
  if (err instanceof BackendError) {
    console.error(`parity: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const chosen = TOLERANCE[info.name];
const tolerance = chosen === 'golden' ? undefined : chosen;
const { plugins, extras, packages, missing } = await discoverPlugins((p) => import(p));
console.log(
  `golden: ${goldenDir}\nbackend: ${describeBackend(info)}${info.notes.length ? `\nbackend notes: ${info.notes.join('; ')}` : ''}` +
    `\ntolerance (${info.name}): ${tolerance ? JSON.stringify(tolerance) : "the golden folder's (index.json)"}` +
    `\nmethod packages: ${packages.join(', ') || '(none)'}${missing.length ? `\nnot installed: ${missing.join(', ')}` : ''}`,
);
const summary = await runParity({ goldenDir, cases: arg('cases'), plugins, extras, ...(tolerance ? { tolerance } : {}), preferBin: values['prefer-bin'] === true });
process.exit(summary.failed > 0 ? 1 : 0);
