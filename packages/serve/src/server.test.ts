import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Stack, type AdapterModel, type SetupNode } from '@adapterkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adaptersFolder, bertModel, CASES, ids, maxDiff, REPO, start } from './test-support';

let model: AdapterModel;
let reference: AdapterModel;
let dir: string;

beforeAll(async () => {
  model = await bertModel();
  reference = await bertModel();
  for (const c of CASES) await reference.loadAdapter(join(REPO, 'fixtures', 'golden', 'cases', 'bert', c), { loadAs: c });
  dir = adaptersFolder();
});
afterAll(() => {
  model.dispose();
  reference.dispose();
});

/** What `setup` alone computes on one unpadded row (the library, without the server). */
function alone(setup: SetupNode | null, inputIds: number[]): number[][] {
  reference.setActiveAdapters(setup);
  return tf.tidy(() => (reference.forward({ inputIds: tf.tensor2d([inputIds], [1, inputIds.length], 'int32') }).lastHiddenState.arraySync() as number[][][])[0]!);
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
  return line ? Number(line.split(' ').at(-1)) : NaN;
}

describe('adapter server', () => {
  it('answers concurrent mixed-adapter /v1/forward requests exactly as each adapter alone, and frees every tensor', async () => {
    const baseline = tf.memory().numTensors;
    const s = await start({ model, adaptersDir: dir, maxLoaded: 16, maxBatch: 64, batchWindowMs: 50 });
    try {
      const requests: Array<{ adapter: string | null; rows: number[][] }> = [];
      const setups: Array<string | null> = [...CASES, ...CASES, null, 'Stack(lora, prefix_tuning)', 'Stack[pfeiffer, lora]'];
      setups.forEach((adapter, i) => requests.push({ adapter, rows: [ids(3 + (i % 7), i), ids(9 - (i % 4), 100 + i)] }));
      const answers = await Promise.all(requests.map((r) => s.request('/v1/forward', { adapter: r.adapter, input_ids: r.rows })));
      const parsed: Record<string, SetupNode | null> = { 'Stack(lora, prefix_tuning)': Stack('lora', 'prefix_tuning'), 'Stack[pfeiffer, lora]': Stack('pfeiffer', 'lora') };
      answers.forEach((a, i) => {
        expect(a.status, JSON.stringify(a.json)).toBe(200);
        const r = requests[i]!;
        const setup = r.adapter !== null && r.adapter in parsed ? parsed[r.adapter]! : r.adapter;
        r.rows.forEach((row, k) => {
          expect(a.json.last_hidden_state[k]).toHaveLength(row.length);
          expect(maxDiff(a.json.last_hidden_state[k], alone(setup, row)), `${r.adapter} row ${k}`).toBeLessThan(1e-4);
        });
        expect(a.json.pooler_output).toHaveLength(r.rows.length);
      });
      const m = await s.request('/metrics');
      expect(m.status).toBe(200);
      // requests were batched: fewer forwards than requests, and some forward mixed several adapters
      expect(metric(m.text, 'adapterkit_batch_rows_count')).toBeLessThan(requests.length);
      expect(m.text).toMatch(/adapterkit_batch_adapters_bucket\{le="1"\} (\d+)/);
      const single = Number(/adapterkit_batch_adapters_bucket\{le="1"\} (\d+)/.exec(m.text)![1]);
      expect(single).toBeLessThan(metric(m.text, 'adapterkit_batch_adapters_count'));
      expect(metric(m.text, 'adapterkit_adapter_loads_total')).toBe(CASES.length);
      // one compute time per batch; a batch runs one forward or more (setups that cannot share one)
      expect(metric(m.text, 'adapterkit_batch_compute_seconds_count')).toBeGreaterThan(0);
      expect(metric(m.text, 'adapterkit_batch_compute_seconds_count')).toBeLessThanOrEqual(metric(m.text, 'adapterkit_batch_rows_count'));
      expect(m.text).toContain('adapterkit_requests_total{route="/v1/forward",status="200"} ' + requests.length);
      const list = await s.request('/v1/adapters');
      expect(list.json.adapters.filter((a: { loaded: boolean }) => a.loaded).map((a: { name: string }) => a.name).sort()).toEqual([...CASES].sort());
      expect(list.json.adapters.find((a: { name: string }) => a.name === 'lora').parameters).toBeGreaterThan(0);
    } finally {
      await s.stop();
    }
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('answers bad input with 4xx JSON errors naming the field', async () => {
    const s = await start({ model, adaptersDir: dir, maxInputs: 4, maxBodyBytes: 32 * 1024, batchWindowMs: 1 });
    try {
      const cases: Array<[unknown, number, string, string]> = [
        ['{"adapter": "lora", "input_ids": [1, 2', 400, 'BAD_JSON', 'body'],
        ['[1, 2]', 400, 'BAD_JSON', 'body'],
        [{ input_ids: [[5, 6]] }, 400, 'MISSING_FIELD', 'adapter'],
        [{ adapter: 'nope', input_ids: [[5, 6]] }, 404, 'UNKNOWN_ADAPTER', 'adapter'],
        [{ adapter: 'Fuse(lora, ia3)', input_ids: [[5, 6]] }, 400, 'BAD_SETUP', 'adapter'],
        [{ adapter: 7, input_ids: [[5, 6]] }, 400, 'BAD_FIELD', 'adapter'],
        [{ adapter: 'lora', input_ids: 'hello' }, 400, 'BAD_FIELD', 'input_ids'],
        [{ adapter: 'lora', input_ids: [[5, 'x']] }, 400, 'BAD_FIELD', 'input_ids[0][1]'],
        [{ adapter: 'lora', input_ids: [[5, 99999]] }, 400, 'BAD_FIELD', 'input_ids[0][1]'],
        [{ adapter: 'lora', input_ids: [ids(65, 1)] }, 400, 'INPUT_TOO_LONG', 'input_ids[0]'],
        [{ adapter: 'lora', input_ids: [[5], [6], [7], [8], [9]] }, 400, 'TOO_MANY_INPUTS', 'input_ids'],
        [{ adapter: 'lora', input_ids: [[5, 6]], attention_mask: [[1]] }, 400, 'SHAPE_MISMATCH', 'attention_mask[0]'],
        [{ adapter: 'lora', input_ids: [[5, 6]], attention_mask: [[1, 2]] }, 400, 'BAD_FIELD', 'attention_mask[0][1]'],
        [{ adapter: 'lora', input_ids: [ids(60, 1)], pad: 'x'.repeat(40_000) }, 413, 'BODY_TOO_LARGE', 'body'],
        [{ adapter: 'lora', inputs: ['a'] }, 400, 'BAD_FIELD', 'input_ids'],
      ];
      for (const [body, status, code, field] of cases) {
        const r = await s.request('/v1/forward', body);
        expect([r.status, r.json?.error?.code, r.json?.error?.field], JSON.stringify(body).slice(0, 80)).toEqual([status, code, field]);
        expect(typeof r.json.error.message).toBe('string');
      }
      const c = await s.request('/v1/classify', { adapter: 'lora', inputs: ['a'] });
      expect([c.status, c.json.error.code, c.json.error.field]).toEqual([400, 'NO_HEAD', 'adapter']);
      const g = await s.request('/v1/generate', { adapter: 'lora', prompt_ids: [5, 6] });
      expect([g.status, g.json.error.code]).toEqual([400, 'NOT_A_DECODER']);
      expect((await s.request('/v1/nothing')).status).toBe(404);
      expect((await s.request('/v1/forward')).status).toBe(405);
    } finally {
      await s.stop();
    }
  });

  it('answers 422 for an adapter that fails to load while the others keep serving', async () => {
    const s = await start({ model, adaptersDir: dir, batchWindowMs: 30 });
    try {
      const [bad, good, again] = await Promise.all([
        s.request('/v1/forward', { adapter: 'broken', input_ids: [[5, 6, 7]] }),
        s.request('/v1/forward', { adapter: 'lora', input_ids: [[5, 6, 7]] }),
        s.request('/v1/forward', { adapter: 'Stack(ia3, broken)', input_ids: [[5, 6, 7]] }),
      ]);
      expect([bad.status, bad.json.error.code, bad.json.error.field]).toEqual([422, 'ADAPTER_LOAD_FAILED', 'adapter']);
      expect(bad.json.error.message).toContain('broken');
      expect(again.status).toBe(422);
      expect(good.status).toBe(200);
      expect(maxDiff(good.json.last_hidden_state[0], alone('lora', [5, 6, 7]))).toBeLessThan(1e-4);
      const list = await s.request('/v1/adapters');
      expect(list.json.adapters.find((a: { name: string }) => a.name === 'broken')).toMatchObject({ loaded: false, error: expect.stringContaining('adapter_config.json') });
      expect((await s.request('/health')).json.status).toBe('ok');
    } finally {
      await s.stop();
    }
  });

  it('evicts the least recently used adapter under maxLoaded and frees its tensors', async () => {
    const baseline = tf.memory().numTensors;
    const s = await start({ model, adaptersDir: dir, maxLoaded: 2, batchWindowMs: 1 });
    try {
      for (const a of ['lora', 'pfeiffer', 'lora', 'ia3']) expect((await s.request('/v1/forward', { adapter: a, input_ids: [[5, 6]] })).status).toBe(200);
      const loaded = (await s.request('/v1/adapters')).json.adapters.filter((a: { loaded: boolean }) => a.loaded).map((a: { name: string }) => a.name);
      expect(loaded.sort()).toEqual(['ia3', 'lora']);
      expect(s.server.pool.loaded()).toEqual(['lora', 'ia3']);
      const m = (await s.request('/metrics')).text;
      expect(metric(m, 'adapterkit_adapter_evictions_total')).toBe(1);
      expect(metric(m, 'adapterkit_adapters_loaded')).toBe(2);
      // explicit unload / load
      const u = await s.request('/v1/adapters/lora/unload', {});
      expect(u.json).toMatchObject({ name: 'lora', changed: true, loaded: false });
      const l = await s.request('/v1/adapters/houlsby/load', {});
      expect(l.json).toMatchObject({ name: 'houlsby', loaded: true });
      expect((await s.request('/v1/adapters/zzz/load', {})).status).toBe(404);
      await s.request('/v1/adapters/houlsby/unload', {});
      await s.request('/v1/adapters/ia3/unload', {});
      expect(tf.memory().numTensors).toBe(baseline);
    } finally {
      await s.stop();
    }
  });

  it('also evicts to stay under maxLoadedBytes', async () => {
    const s = await start({ model, adaptersDir: dir, maxLoaded: 8, maxLoadedBytes: 1, batchWindowMs: 1 });
    try {
      for (const a of ['lora', 'pfeiffer', 'ia3']) expect((await s.request('/v1/forward', { adapter: a, input_ids: [[5, 6]] })).status).toBe(200);
      expect(s.server.pool.loaded()).toEqual(['ia3']);
      expect(metric((await s.request('/metrics')).text, 'adapterkit_adapter_evictions_total')).toBe(2);
    } finally {
      await s.stop();
    }
  });

  it('requires the API key on every route but /health (401 otherwise)', async () => {
    const s = await start({ model, adaptersDir: dir, apiKey: 'sekret-key' });
    try {
      expect((await s.request('/health')).status).toBe(200);
      for (const path of ['/v1/adapters', '/metrics']) {
        const r = await s.request(path);
        expect([r.status, r.json.error.code]).toEqual([401, 'UNAUTHORIZED']);
        expect((await s.request(path, undefined, { authorization: 'Bearer sekret-kez' })).status).toBe(401);
        expect((await s.request(path, undefined, { 'x-api-key': 'sekret' })).status).toBe(401);
        expect((await s.request(path, undefined, { authorization: 'Bearer sekret-key' })).status).toBe(200);
        expect((await s.request(path, undefined, { 'x-api-key': 'sekret-key' })).status).toBe(200);
      }
      expect((await s.request('/v1/forward', { adapter: null, input_ids: [[5]] })).status).toBe(401);
      expect((await s.request('/v1/forward', { adapter: null, input_ids: [[5]] }, { 'x-api-key': 'sekret-key' })).status).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('times a request out with 504 and refuses new requests while shutting down', async () => {
    const s = await start({ model, adaptersDir: dir, requestTimeoutMs: 5, batchWindowMs: 200 });
    const t = await s.request('/v1/forward', { adapter: 'lora', input_ids: [[5, 6]] });
    expect([t.status, t.json.error.code]).toEqual([504, 'TIMEOUT']);
    const closing = s.server.close();
    const r = await s.request('/v1/forward', { adapter: 'lora', input_ids: [[5, 6]] });
    expect([r.status, r.json.error.code]).toEqual([503, 'SHUTTING_DOWN']);
    expect((await s.request('/health')).status).toBe(503);
    await closing;
    await s.stop();
  });
});
