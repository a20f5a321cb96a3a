/**
 * `pnpm parity [--golden DIR] [--cases GLOB[,GLOB]] [--backend cpu|wasm|native] [--prefer-bin]`: runs every case of a golden folder
 * against the installed method packages and prints PASS|FAIL|SKIP lines and a summary; exit 1 on any FAIL.
 */
import { fileURLToPath } from 'node:url';
import { initBackend } from '@adapterkit/core';
import { discoverPlugins, runParity } from '@adapterkit/testkit';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const goldenDir = arg('golden') ?? fileURLToPath(new URL('../fixtures/golden', import.meta.url));
const backend = (arg('backend') ?? 'cpu') as 'cpu' | 'wasm' | 'native';
await initBackend(backend);
const { plugins, extras, packages, missing } = await discoverPlugins((p) => import(p));
console.log(`golden: ${goldenDir}\nbackend: ${backend}\nmethod packages: ${packages.join(', ') || '(none)'}${missing.length ? `\nnot installed: ${missing.join(', ')}` : ''}`);
const summary = await runParity({ goldenDir, cases: arg('cases'), plugins, extras, preferBin: process.argv.includes('--prefer-bin') });
process.exit(summary.failed > 0 ? 1 : 0);
