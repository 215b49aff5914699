"""Optimizers over one flat float32 buffer, updated in place (no temporaries per step).

The network lays its learnables out in one contiguous vector: every weight and kernel
first, then biases and batch-norm scale/shift. So "the weights" that L1/L2 act on are a
single slice `[:n_weights]`, and Adam is ten whole-buffer ufunc calls.
"""
import numpy as np

from .regularizers import signed_constant


class Adam:
    """Adam (beta 0.9/0.999, eps 1e-8 added to sqrt(v_hat), as the reference and PyTorch).

    The moments are kept unnormalised, u = m / (1 - beta1) and w = v / (1 - beta2), so
    their updates are `u = beta1*u + g` and `w = beta2*w + g*g` (two ufunc calls fewer a
    step); every scalar factor is folded into the final step size. Scalars are float32:
    a float64 scalar would push NumPy onto a slow converting loop.

    `decay` (the reference's decoupled step, docs/quirks.md#q6): after the Adam
    direction, p -= lr * (l2 * p + l1 * sign(p)) on the weight slice only.
    """

    def __init__(self, size, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, dtype=np.float32,
                 work=None):
        """work: a buffer of `size` for the update's intermediate values; its owner may
        use a slice of it between steps, before update(slice) (the trainer builds the
        penalty's sign there). Default: the optimizer's own."""
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.dtype = np.dtype(dtype)
        self.u = np.zeros(size, dtype)
        self.w = np.zeros(size, dtype)
        self.t = 0
        self._tmp = np.empty(size, dtype) if work is None else work

    def step(self, p, g, n_weights=0, l1=0.0, l2=0.0, map_slices=None):
        """One update of p from gradient g (g is used as scratch and left changed).
        Everything is elementwise, so `map_slices(fn, n)` may run fn(slice) over parts
        of the buffers in parallel (engine.shards.ShardedNetwork.map_slices); the
        result does not depend on how the buffers are cut."""
        (map_slices or _whole)(self.updater(p, g, n_weights, l1, l2), p.size)

    def updater(self, p, g, n_weights=0, l1=0.0, l2=0.0):
        """Count one step and return update(sl), which applies it to p[sl] from g[sl]:
        for callers that fuse the update with other elementwise work per slice."""
        b1, b2 = self.beta1, self.beta2
        self.t += 1
        # delta = m_hat / (sqrt(v_hat) + eps) = c_m u / (c_v sqrt(w) + eps)
        c_m = (1.0 - b1) / (1.0 - b1 ** self.t)
        c_v = np.sqrt((1.0 - b2) / (1.0 - b2 ** self.t))
        f = self.dtype.type
        b1, b2, eps, gain = f(b1), f(b2), f(self.eps / c_v), f(self.lr * c_m / c_v)
        decay = n_weights and (l1 or l2)
        lr_l1, keep = self.lr * l1, f(1.0 - self.lr * l2)

        def update(sl):
            u, w, tmp, gs = self.u[sl], self.w[sl], self._tmp[sl], g[sl]
            u *= b1
            u += gs
            np.multiply(gs, gs, out=gs)
            w *= b2
            w += gs
            np.sqrt(w, out=tmp)
            tmp += eps
            np.divide(u, tmp, out=tmp)
            tmp *= gain
            nw = min(max(n_weights - sl.start, 0), tmp.size) if decay else 0
            if nw:
                pw = p[sl][:nw]
                if l1:     # lr*l1*sign(w), built in g's (free) first slice
                    tmp[:nw] += signed_constant(lr_l1, pw, gs[:nw])
                if l2:
                    pw *= keep
            p[sl] -= tmp
        return update

    def state(self):
        return {"u": self.u, "w": self.w, "t": np.int64(self.t)}

    def load_state(self, st):
        self.u[...] = st["u"]
        self.w[...] = st["w"]
        self.t = int(st["t"])


def _whole(fn, n):
    return [fn(slice(0, n))]


def sgd_step(p, g, lr):
    """Plain SGD: the reference's update of batch-norm scale/shift (quirk Q3)."""
    p -= p.dtype.type(lr) * g
