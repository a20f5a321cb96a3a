import * as tf from '@tensorflow/tfjs-core';

/** Label value excluded from cross-entropy (PyTorch `CrossEntropyLoss.ignore_index`). */
export const IGNORE_INDEX = -100;

/**
 * Mean softmax cross-entropy, as PyTorch's `CrossEntropyLoss`: logits `[N, C]`, integer labels `[N]`. Entries equal
 * to `ignoreIndex` (−100) are left out of the sum and of the count (an all-ignored batch gives 0).
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, ignoreIndex = IGNORE_INDEX): tf.Scalar {
  return tf.tidy(() => {
    const numClasses = logits.shape[1];
    const lbl = tf.cast(labels, 'int32') as tf.Tensor1D;
    const valid = tf.cast(tf.notEqual(lbl, ignoreIndex), 'float32');
    const target = tf.oneHot(tf.maximum(lbl, tf.scalar(0, 'int32')) as tf.Tensor1D, numClasses);
    const picked = tf.sum(tf.mul(tf.logSoftmax(logits), target), -1);
    const count = tf.maximum(tf.sum(valid), 1);
    return tf.neg(tf.div(tf.sum(tf.mul(picked, valid)), count)) as tf.Scalar;
  });
}

/** Mean binary cross-entropy on logits (PyTorch `BCEWithLogitsLoss`), numerically stable: x `[N, C]`, targets 0/1 `[N, C]`. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const t = tf.cast(targets, 'float32');
    const loss = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, t)), tf.softplus(tf.neg(tf.abs(logits))));
    return tf.mean(loss) as tf.Scalar;
  });
}

/** Mean squared error (PyTorch `MSELoss`) over all elements. */
export function meanSquaredError(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.sub(pred, tf.cast(target, 'float32')))) as tf.Scalar);
}
