import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, serializeWeights } from '@adapterkit/core';
import { buildCli, cli, GOLDEN_BERT, removeCli } from './test-helpers';

const REPO_ID = 'acme/tiny-bert';
const FILES: Record<string, Buffer> = {
  'config.json': readFileSync(join(GOLDEN_BERT, 'config.json')),
  'model.safetensors': readFileSync(join(GOLDEN_BERT, 'model.safetensors')),
  'README.md': Buffer.from('# tiny bert\n'),
};
/** A repository with only a torch checkpoint (as many older Hub models). */
const BIN_REPO_ID = 'acme/tiny-bert-bin';
const BIN_FILES: Record<string, Buffer> = {
  'config.json': FILES['config.json']!,
  'pytorch_model.bin': Buffer.from(
    serializeWeights(
      Object.fromEntries([...parseSafetensors(new Uint8Array(FILES['model.safetensors']!)).tensors].map(([k, t]) => [k, { shape: t.shape, data: t.data }])),
      'bin',
      { safetensors: 'model.safetensors', bin: 'pytorch_model.bin' },
    )['pytorch_model.bin']!,
  ),
};
const REPOS: Record<string, Record<string, Buffer>> = { [REPO_ID]: FILES, [BIN_REPO_ID]: BIN_FILES };

/**
 * A stand-in for the Hub on 127.0.0.1 serving exactly what @huggingface/hub 2.x requests: `listFiles` →
 * `GET /api/models/<id>/tree/main?recursive=false&expand=false`; `downloadFile` → `GET /<id>/resolve/main/<file>`
 * first with `Range: bytes=0-0` (206 + Content-Range + ETag), then without a range (the whole file).
 */
function hubServer(requests: string[]): Server {
  return createServer((req, res) => {
    const url = req.url ?? '';
    requests.push(`${req.method} ${url}${req.headers.range ? ` [${req.headers.range}]` : ''}`);
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main\?recursive=false&expand=false$/.exec(url);
    if (tree && REPOS[tree[1]!]) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(Object.entries(REPOS[tree[1]!]!).map(([path, b]) => ({ type: 'file', path, size: b.length, oid: `oid-${path}` }))));
      return;
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url);
    const body = m && REPOS[m[1]!] ? REPOS[m[1]!]![m[2]!] : undefined;
    if (!body) {
      res.writeHead(404, { 'content-type': 'application/json', 'x-error-code': m && REPOS[m[1]!] ? 'EntryNotFound' : 'RepoNotFound' });
      res.end(JSON.stringify({ error: 'Repository not found' }));
      return;
    }
    const etag = `"etag-${m![2]}"`;
    if (req.headers.range === 'bytes=0-0') {
      res.writeHead(206, { 'content-range': `bytes 0-0/${body.length}`, etag, 'content-length': '1' });
      res.end(body.subarray(0, 1));
      return;
    }
    res.writeHead(200, { etag, 'content-length': String(body.length) });
    res.end(body);
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let tmp: string;
beforeAll(() => {
  buildCli();
  tmp = mkdtempSync(join(tmpdir(), 'adapterkit-hub-'));
});
afterAll(() => {
  removeCli();
  rmSync(tmp, { recursive: true, force: true });
});

describe('Hub models', () => {
  it('downloads a model once into the cache with @huggingface/hub, then works offline', async () => {
    const requests: string[] = [];
    const server = hubServer(requests);
    const endpoint = await listen(server);
    const cache = join(tmp, 'cache');
    const env = { HF_ENDPOINT: endpoint, ADAPTERKIT_CACHE: cache };
    try {
      const r = await cli(['summary', '--model', REPO_ID, '--config', 'pfeiffer'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`downloading ${REPO_ID}/model.safetensors`);
      expect(r.stdout).toMatch(/pfeiffer\s+bottleneck\s+324/);
    } finally {
      server.close();
    }
    expect(requests).toEqual([
      `GET /api/models/${REPO_ID}/tree/main?recursive=false&expand=false`,
      `GET /${REPO_ID}/resolve/main/config.json [bytes=0-0]`,
      `GET /${REPO_ID}/resolve/main/config.json`,
      `GET /${REPO_ID}/resolve/main/model.safetensors [bytes=0-0]`,
      `GET /${REPO_ID}/resolve/main/model.safetensors`,
    ]);
    expect(readFileSync(join(cache, 'acme', 'tiny-bert', 'model.safetensors')).equals(FILES['model.safetensors']!)).toBe(true);
    expect(existsSync(join(cache, 'acme', 'tiny-bert', 'README.md'))).toBe(false);

    const again = await cli(['summary', '--model', REPO_ID], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('downloading');
  });

  it('downloads a repository that has only pytorch_model.bin, and loads it', async () => {
    const requests: string[] = [];
    const server = hubServer(requests);
    const endpoint = await listen(server);
    const cache = join(tmp, 'cache-bin');
    try {
      const r = await cli(['summary', '--model', BIN_REPO_ID, '--config', 'pfeiffer'], { env: { HF_ENDPOINT: endpoint, ADAPTERKIT_CACHE: cache } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`downloading ${BIN_REPO_ID}/pytorch_model.bin`);
      expect(r.stdout).toMatch(/pfeiffer\s+bottleneck\s+324/);
    } finally {
      server.close();
    }
    expect(existsSync(join(cache, 'acme', 'tiny-bert-bin', 'pytorch_model.bin'))).toBe(true);
  });

  it('explains an unreachable Hub and an unknown model in one line', async () => {
    const server = hubServer([]);
    const endpoint = await listen(server);
    const closed = createServer();
    const down = await listen(closed);
    closed.close();
    try {
      const [offline, missing, flag] = await Promise.all([
        cli(['summary', '--model', 'acme/other'], { env: { HF_ENDPOINT: down, ADAPTERKIT_CACHE: join(tmp, 'c2') } }),
        cli(['summary', '--model', 'acme/nope'], { env: { HF_ENDPOINT: endpoint, ADAPTERKIT_CACHE: join(tmp, 'c3') } }),
        cli(['summary', '--model', 'acme/nope', '--hub-endpoint', down], { env: { HF_ENDPOINT: endpoint, ADAPTERKIT_CACHE: join(tmp, 'c4') } }),
      ]);
      expect(offline.code).toBe(1);
      expect(offline.stderr.trim()).toBe(`adapterkit: error: cannot reach ${down}: ECONNREFUSED (use a local directory or set HF_ENDPOINT)`);
      expect(missing.code).toBe(1);
      expect(missing.stderr.trim()).toMatch(new RegExp(`^adapterkit: error: model 'acme/nope' not found on ${endpoint} \\(HTTP 404`));
      expect(flag.stderr).toContain(`cannot reach ${down}`);
    } finally {
      server.close();
    }
  });
});

describe('embedded model', () => {
  it('resolves `embedded` (the golden tiny BERT while packages/bert-mini/model is missing, with a note)', async () => {
    const r = await cli(['summary', '--model', 'embedded']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^embedded: bert, /);
    if (!existsSync(new URL('../../../packages/bert-mini/model/model.safetensors', import.meta.url))) expect(r.stderr).toContain('@adapterkit/bert-mini is not built yet');
  });
});
