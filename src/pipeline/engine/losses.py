"""Softmax cross-entropy over one or more heads. The logits are one vector whose column
ranges are the heads (flowers: 5; Office-31: domain 3 + object 31, as the reference).
The loss is the sum over heads of the mean cross-entropy; each head's gradient is
(softmax - onehot) / N."""
import numpy as np


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


def head_slices(head_sizes):
    edges = np.cumsum([0, *head_sizes])
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def probabilities(logits, head_sizes):
    """Per-head softmax, concatenated like the logits."""
    return np.concatenate([softmax(logits[:, s]) for s in head_slices(head_sizes)], axis=1)


def softmax_cross_entropy(logits, y, head_sizes, smoothing=0.0):
    """logits (N, sum(head_sizes)), y int (N, K). Returns (loss, dlogits, correct) where
    correct[k] counts argmax hits of head k. `smoothing` eps: each head's target is
    1 - eps on its label plus eps / K on each of its K classes, so the loss adds
    eps * (mean over classes of -log p - (-log p of the label)) and the gradient is
    p - target."""
    n = logits.shape[0]
    rows = np.arange(n)
    loss = 0.0
    dlogits = np.empty_like(logits)
    correct = []
    for k, s in enumerate(head_slices(head_sizes)):
        z = logits[:, s]
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if smoothing:
            loss += float(((smoothing - 1.0) * log_p[rows, y[:, k]]
                           - smoothing * log_p.mean(axis=1)).mean())
        else:
            loss += float(-log_p[rows, y[:, k]].mean())
        d = np.exp(log_p)
        correct.append(int((d.argmax(axis=1) == y[:, k]).sum()))
        if smoothing:
            d -= smoothing / z.shape[1]
            d[rows, y[:, k]] -= 1.0 - smoothing
        else:
            d[rows, y[:, k]] -= 1.0
        d /= n
        dlogits[:, s] = d
    return loss, dlogits, correct
