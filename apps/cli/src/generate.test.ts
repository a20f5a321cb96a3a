import '@tensorflow/tfjs-backend-cpu';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdapterModel } from '@adapterkit/core';
import { generate } from '@adapterkit/generate';
import { lora } from '@adapterkit/lora';
import { loadHost } from '@adapterkit/models';
import { describe, expect, it } from 'vitest';
import { GOLDEN, REPO, runMain } from './test-helpers';

const LLAMA = join(REPO, 'fixtures', 'golden-next', 'models', 'llama');
const LLAMA_LORA = join(REPO, 'fixtures', 'golden-next', 'cases', 'llama', 'lora');
const GPT2 = join(GOLDEN, 'models', 'gpt2');
const GPT2_TOKENIZER = join(REPO, 'packages', 'data', 'fixtures', 'gpt2-tiny');

describe('adapterkit generate', () => {
  it('continues token-id prompts with an adapter as the library does (greedy, batched)', async () => {
    const r = await runMain(['generate', '--model', LLAMA, '--adapter', LLAMA_LORA, '--prompt-ids', '[430, 58, 65]', '--prompt-ids', '[169, 321]', '--max-new-tokens', '5', '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    const model = new AdapterModel(await loadHost(LLAMA), { methods: [lora], warn: () => undefined });
    await model.loadAdapter(LLAMA_LORA, { setActive: true });
    const expected = generate(model, [[430, 58, 65], [169, 321]], { maxNewTokens: 5 });
    model.dispose();
    expect(r.stdout.trim().split('\n')).toEqual([`[0] ${JSON.stringify(expected.tokens[0])}`, `[1] ${JSON.stringify(expected.tokens[1])}`]);
    expect(r.stderr).toMatch(/10 tokens in .* tokens\/s\); finished: length, length/);
  });

  it('streams the decoded text of a text prompt (byte-level BPE tokenizer) and honours --stop-token', async () => {
    const r = await runMain(['generate', '--model', GPT2, '--tokenizer', GPT2_TOKENIZER, '--prompt', 'hello world', '--max-new-tokens', '6', '--backend', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    expect(r.stderr).toMatch(/6 tokens in/);
    const sampled = await runMain(['generate', '--model', GPT2, '--prompt-ids', '[5, 6, 7]', '--sample', '--top-k', '5', '--seed', '3', '--max-new-tokens', '4', '--backend', 'cpu']);
    const first = Number(sampled.stdout.trim().split(' ')[0]);
    const stopped = await runMain(['generate', '--model', GPT2, '--prompt-ids', '[5, 6, 7]', '--sample', '--top-k', '5', '--seed', '3', '--max-new-tokens', '4', '--stop-token', String(first), '--backend', 'cpu']);
    expect(stopped.stdout.trim()).toBe(String(first));
    expect(stopped.stderr).toMatch(/finished: stop_token/);
  });

  it('--chat renders the tokenizer\'s chat template (and says when there is none)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'cli-chat-'));
    try {
      cpSync(GPT2_TOKENIZER, tmp, { recursive: true });
      const cfgPath = join(tmp, 'tokenizer_config.json');
      const none = await runMain(['generate', '--model', GPT2, '--tokenizer', tmp, '--chat', '--prompt', 'hello', '--max-new-tokens', '2', '--backend', 'cpu']);
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/--chat: .*no "chat_template"/);
      const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, chat_template: "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}" }));
      const ok = await runMain(['generate', '--model', GPT2, '--tokenizer', tmp, '--chat', '--system', 'be brief', '--prompt', 'hello', '--max-new-tokens', '2', '--backend', 'cpu']);
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stderr).toMatch(/2 tokens in/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('refuses encoders and bad options in one line', async () => {
    const enc = await runMain(['generate', '--model', join(GOLDEN, 'models', 'bert'), '--prompt-ids', '[1, 2]', '--backend', 'cpu']);
    expect(enc.code).toBe(1);
    expect(enc.stderr).toMatch(/generate needs a decoder model \(gpt2, llama, qwen2\)/);
    const bad = await runMain(['generate', '--model', LLAMA, '--prompt-ids', '[1, 2', '--backend', 'cpu']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--prompt-ids expects a JSON array of token ids/);
    const none = await runMain(['generate', '--model', LLAMA, '--backend', 'cpu']);
    expect(none.code).toBe(2);
  });
});
