import { AdapterKitError, fileShape, findWeightsFile, fromFileLayout, readWeightsFile, tensorEntryToTf, type AdapterModel, type FileSource } from '@adapterkit/core';
import { addMaskedLmHead, getHeads, type PredictionHead } from '@adapterkit/training';

/**
 * State-dict names of a `BertForMaskedLM` checkpoint's MLM head (transformers' `cls.predictions.*`), by head module:
 * the transform's Linear, its LayerNorm, and the tied decoder's bias (its weight is the word embeddings).
 */
const BERT_MLM_KEYS: Readonly<Record<string, string>> = { linear: 'cls.predictions.transform.dense', layerNorm: 'cls.predictions.transform.LayerNorm', tied: 'cls.predictions' };

function fileKey(head: PredictionHead, key: string): string | undefined {
  const m = /\.(\d+)\.(weight|bias)$/.exec(key);
  const kind = m ? head.modules.find((mod) => mod.index === Number(m[1]))?.kind : undefined;
  const base = kind ? BERT_MLM_KEYS[kind] : undefined;
  return base && m ? `${base}.${m[2]}` : undefined;
}

/**
 * Add a masked-LM head `name` to `model` with the weights of the model folder's own MLM head, when its checkpoint
 * is a `BertForMaskedLM` one (it holds `cls.predictions.*`; e.g. the embedded model). Returns false, adding
 * nothing, when the checkpoint has no such head.
 */
export async function loadCheckpointMaskedLmHead(model: AdapterModel, source: FileSource, name: string): Promise<boolean> {
  const file = await findWeightsFile(source, { candidates: ['model.safetensors'], torchFile: 'pytorch_model.bin', what: 'model weights' });
  const { tensors } = await readWeightsFile(file);
  if (!tensors.has('cls.predictions.bias')) return false;
  const head = addMaskedLmHead(model, name, { setActive: false });
  try {
    for (const p of head.list()) {
      const key = fileKey(head, p.key);
      const entry = key ? tensors.get(key) : undefined;
      if (!key || !entry) throw new AdapterKitError('MLM_HEAD_WEIGHTS', `${source.label}: the checkpoint's MLM head has no ${key ?? p.key}`);
      if (entry.shape.join() !== fileShape(p).join()) {
        throw new AdapterKitError('MLM_HEAD_WEIGHTS', `${source.label}: ${key} has shape [${entry.shape.join(', ')}], the head expects [${fileShape(p).join(', ')}]`);
      }
      const v = fromFileLayout(p.layout, tensorEntryToTf(entry)); // takes ownership of the file-layout tensor
      p.variable.assign(v);
      v.dispose();
    }
  } catch (err) {
    getHeads(model).delete(name);
    throw err;
  }
  return true;
}
