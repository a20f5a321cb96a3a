import type { AdapterModel } from '@adapterkit/core';

/** One line describing a model: `models/bert: bert, 2 layers, hidden 32, vocab 512, 109,482 parameters`. */
export function describeModel(spec: string, model: AdapterModel): string {
  const i = model.info;
  return `${spec}: ${i.modelType}, ${i.numLayers} layers, hidden ${i.hiddenSize}, ${i.numHeads} heads, vocab ${i.vocabSize}, ${i.numParameters.toLocaleString('en-US')} parameters`;
}
