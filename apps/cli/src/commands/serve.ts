import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createAdapterServer } from '@adapterkit/serve';
import type { CommandSpec } from '../cli/command';
import { CliError } from '../cli/errors';
import { requireDir } from '../runtime/files';
import { loadModel } from '../runtime/load';
import { MODEL_OPTIONS, resolveModel } from '../runtime/model-source';

/** `adapterkit serve`: one frozen base model, the adapters of a folder, mixed-adapter batches over HTTP. */
export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'serve a base model and a folder of adapters over HTTP, batching requests of different adapters together',
  usage: ['--model DIR|embedded|org/name --adapters DIR [--port N] [--host 127.0.0.1] [--max-loaded N] [--max-batch N] [--batch-window-ms N] [--api-key KEY]'],
  details: [
    'Every subfolder of --adapters holding an adapter (with its head, when saved with one) is served under its folder',
    'name; adapters load on first use into an LRU of --max-loaded and are unloaded when evicted. Requests arriving',
    'within --batch-window-ms run as one forward of the base model with per-row adapter routing.',
    'Routes (JSON): POST /v1/forward {adapter, input_ids, attention_mask?}, POST /v1/classify {adapter, inputs},',
    'POST /v1/generate {adapter, prompt|prompt_ids, max_new_tokens, stream?} (decoder models; server-sent events),',
    'GET /v1/adapters, POST /v1/adapters/NAME/load|unload, GET /health, GET /metrics (Prometheus text).',
    '`adapter` is a folder name, a composition `Stack(a, b)`, or null for the bare base model. With --api-key (or',
    '$ADAPTERKIT_API_KEY) every route but /health needs `Authorization: Bearer KEY`. SIGTERM/SIGINT finish the',
    'running batches, refuse new requests, and exit.',
  ],
  options: {
    ...MODEL_OPTIONS,
    adapters: { type: 'string', value: 'DIR', description: 'folder whose subfolders are the servable adapters' },
    port: { type: 'string', value: 'N', description: 'TCP port (default 8080; 0 = any free port)' },
    host: { type: 'string', value: 'ADDR', description: 'address to listen on (default 127.0.0.1)' },
    'max-loaded': { type: 'string', value: 'N', description: 'adapters loaded at once, LRU (default 8)' },
    'max-loaded-mb': { type: 'string', value: 'N', description: 'also keep the loaded adapters under N MiB of parameters (default: no limit)' },
    'max-batch': { type: 'string', value: 'N', description: 'rows per forward batch (default 32; 1 = one request at a time)' },
    'batch-window-ms': { type: 'string', value: 'N', description: 'a batch starts once N ms pass without a new request, or at half the last batch\'s compute time (default 5)' },
    'api-key': { type: 'string', value: 'KEY', description: 'require this key on every route but /health (default: $ADAPTERKIT_API_KEY)' },
    'max-inputs': { type: 'string', value: 'N', description: 'sequences per request (default 64)' },
    'timeout-ms': { type: 'string', value: 'N', description: 'answer 504 to a request not done within N ms (default 30000)' },
  },
  examples: [
    'adapterkit serve --model fixtures/golden/models/bert --adapters adapters/ --port 8080',
    'adapterkit serve --model embedded --adapters out/ --max-loaded 16 --api-key "$KEY"',
  ],
  async run(args, ctx) {
    const adaptersDir = resolve(ctx.io.cwd, args.required('adapters', 'DIR'));
    requireDir(adaptersDir, '--adapters');
    const port = args.int('port', 8080, 0)!;
    if (port > 65535) throw new CliError(`--port ${port}: must be at most 65535`);
    const host = args.string('host') ?? '127.0.0.1';
    const apiKey = args.string('api-key') ?? ctx.io.env['ADAPTERKIT_API_KEY'];
    if (apiKey !== undefined && apiKey.length < 8) throw new CliError('--api-key: use at least 8 characters');
    const source = await resolveModel(args, ctx);
    const model = await loadModel(source.dir, ctx);
    const server = createAdapterServer({
      model,
      modelDir: source.dir,
      adaptersDir,
      maxLoaded: args.int('max-loaded', 8)!,
      ...(args.has('max-loaded-mb') ? { maxLoadedBytes: args.int('max-loaded-mb', undefined)! * 2 ** 20 } : {}),
      maxBatch: args.int('max-batch', 32)!,
      batchWindowMs: args.int('batch-window-ms', 5, 0)!,
      maxInputs: args.int('max-inputs', 64)!,
      requestTimeoutMs: args.int('timeout-ms', 30_000)!,
      ...(apiKey !== undefined ? { apiKey } : {}),
    });
    const http = createServer(server.handler);
    // A forward blocks the event loop: with Node's 5 s default, a long batch let the timers phase close pooled
    // connections whose next request was already waiting (ECONNRESET at the client); clients keep theirs open.
    http.keepAliveTimeout = 65_000;
    await new Promise<void>((ok, fail) => {
      http.once('error', (err) => fail(new CliError(`cannot listen on ${host}:${port}: ${err.message}`)));
      http.listen(port, host, ok);
    });
    const addr = http.address() as AddressInfo;
    ctx.out(`serving ${server.pool.known().length} adapters of ${adaptersDir} on ${source.spec}`);
    ctx.out(`listening on http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`);
    if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1' && apiKey === undefined) ctx.note(`listening on ${host} without --api-key: anyone who can reach it can use it`);
    await new Promise<void>((done) => {
      const stop = (signal: string): void => {
        process.off('SIGTERM', onTerm);
        process.off('SIGINT', onInt);
        ctx.note(`${signal}: finishing running requests`);
        http.close();
        void server.close().then(() => {
          http.closeIdleConnections();
          ctx.out('stopped');
          done();
        });
      };
      const onTerm = (): void => stop('SIGTERM');
      const onInt = (): void => stop('SIGINT');
      process.once('SIGTERM', onTerm);
      process.once('SIGINT', onInt);
    });
    model.dispose();
  },
};
