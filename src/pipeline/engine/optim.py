"""Optimizers over one flat float32 buffer, updated in place (no temporaries per step).

The network lays its learnables out in one contiguous vector: every weight and kernel
first, then biases and batch-norm scale/shift. So "the weights" that L1/L2 act on are a
single slice `[:n_weights]`, and Adam is a dozen whole-buffer ufunc calls.
"""
import numpy as np


class Adam:
    """Adam (beta 0.9/0.999, eps 1e-8 added to sqrt(v_hat), as the reference and PyTorch).

    `decay` (the reference's decoupled step, book-model.md 3.1): after the Adam
    direction, p -= lr * (l2 * p + l1 * sign(p)) on the weight slice only.
    """

    def __init__(self, size, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, dtype=np.float32):
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = np.zeros(size, dtype)
        self.v = np.zeros(size, dtype)
        self.t = 0
        self._tmp = np.empty(size, dtype)
        self._tmp2 = np.empty(size, dtype)

    def step(self, p, g, n_weights=0, l1=0.0, l2=0.0):
        b1, b2, tmp = self.beta1, self.beta2, self._tmp
        self.t += 1
        m, v = self.m, self.v
        m *= b1
        np.multiply(g, 1.0 - b1, out=tmp)
        m += tmp
        v *= b2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v += tmp
        # lr * m_hat / (sqrt(v_hat) + eps) with the bias corrections folded into scalars
        c2 = np.sqrt(1.0 - b2 ** self.t)
        step = self.lr * c2 / (1.0 - b1 ** self.t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * c2
        np.divide(m, tmp, out=tmp)
        tmp *= step
        if n_weights and (l1 or l2):
            w, dw = p[:n_weights], tmp[:n_weights]
            if l2:
                np.multiply(w, self.lr * l2, out=self._tmp2[:n_weights])
                dw += self._tmp2[:n_weights]
            if l1:
                np.sign(w, out=self._tmp2[:n_weights])
                self._tmp2[:n_weights] *= self.lr * l1
                dw += self._tmp2[:n_weights]
        p -= tmp

    def state(self):
        return {"m": self.m, "v": self.v, "t": np.int64(self.t)}

    def load_state(self, st):
        self.m[...] = st["m"]
        self.v[...] = st["v"]
        self.t = int(st["t"])


def sgd_step(p, g, lr):
    """Plain SGD: the reference's update of batch-norm scale/shift (quirk Q3)."""
    p -= lr * g
