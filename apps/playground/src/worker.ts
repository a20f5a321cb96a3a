/**
 * The training worker: its own backend, base model and tokenizer; trains one adapter + head from the page's
 * labelled lines and posts progress, then the AdapterHub folder (as a zip) back.
 */
import { loadBase, setupBackend, trainAdapter, zipFolder, type PageBackend, type TrainRequest } from './engine';

export type WorkerRequest = { readonly type: 'train'; readonly backend: PageBackend | undefined; readonly base: string; readonly modelUrl: string; readonly request: TrainRequest };

self.onmessage = async (ev: MessageEvent<WorkerRequest>) => {
  const { backend, base, modelUrl, request } = ev.data;
  try {
    const chosen = await setupBackend(backend, base);
    self.postMessage({ type: 'backend', name: chosen.name });
    const { model, tokenizer } = await loadBase(modelUrl);
    const files = await trainAdapter(model, tokenizer, request, (p) => self.postMessage(p));
    const zip = zipFolder(request.name, files);
    self.postMessage({ type: 'done', zip }, { transfer: [zip.buffer] });
    model.dispose();
  } catch (err) {
    self.postMessage({ type: 'error', message: (err as Error).message });
  }
};
