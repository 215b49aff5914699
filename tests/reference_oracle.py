"""An independent oracle: the study's training step written out plainly in float64.

Written from the behavioural description of the reference (docs/reproduction.md, "The
oracle"), not from the engine: it imports nothing from `pipeline`. It keeps the
reference's layout and order of work, so it also checks the engine's own layout choices:

- images are NHWC, kernels [kh, kw, C, chn]; a full layer flattens an image per sample
  in HWC order;
- conv: stride 1, 'same' zero padding ((k-1)//2 before), cross-correlation;
- max pool: the first maximum of a window in row-major order takes the whole gradient;
  avg pool: the window mean, gradient spread evenly;
- ReLU derivative from the output (y > 0);
- dropout: x * mask / keep_prob (mask given), noise: one coin per minibatch, then
  x + mean + draw (the draw given); both identity in evaluation;
- batch norm per channel over all other axes, biased variance; training updates the
  running averages in the forward pass (mavg += rho*(mu - mavg), same for mvar, starting
  at 0 and 1); evaluation uses them as they are; the backward pass is the simplified one
  (dx = dout * scale / std) and scale/shift take a plain SGD step;
- loss: mean softmax cross-entropy per head, heads added; gradient (softmax - onehot)/N;
- Adam per parameter array (s = .9 s + .1 g, t = .999 t + .001 g^2, bias-corrected,
  eps 1e-8 added to sqrt(t_hat)) for w, k, b; then for w and k only the decay
  p -= lr * (l2 p + l1 sign p) after the Adam step (not through the gradient);
- cost = data loss + sum(w^2)/2 (if l2 > 0) + sum|w| (if l1 > 0) over every w and k,
  before the update and NOT multiplied by lambda;
- each layer, walking backwards, computes its input gradient with its old parameters and
  then updates its own parameters at once (the reference's order).

The random parts (dropout masks, noise coin and draws) are not drawn here: the caller
passes the ones the engine used, in the order the layers ask for them (`draws`), in
NHWC layout. Parameters come in as a list of dicts per layer in the layout above.
"""
import numpy as np

DEFAULTS = {
    "full": {"actfunc": "relu"},
    "conv": {"actfunc": "relu"},
    "max": {}, "avg": {},
    "dropout": {"keep_prob": 1.0},
    "noise": {"type": "normal", "mean": 0.0, "std": 1.0, "ratio": 1.0},
    "batch_normal": {"rescale": True, "epsilon": 1e-10, "exp_ratio": 0.001},
}


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def layer_list(hidden, n_outputs):
    """Hidden config (ints or [type, {options}]) plus the output layer -> [(type, opts)]."""
    out = []
    for item in hidden:
        if isinstance(item, int):
            item = ["full", {"width": item}]
        kind = item[0]
        opts = {**DEFAULTS[kind], **(item[1] if len(item) > 1 else {})}
        if kind == "conv":
            opts["ksize"] = _pair(opts["ksize"])
        if kind in ("max", "avg"):
            opts["stride"] = _pair(opts["stride"])
        out.append((kind, opts))
    out.append(("full", {"width": n_outputs, "actfunc": "none"}))
    return out


def relu_grad(y, g):
    return g * (y > 0)


class Oracle:
    def __init__(self, layers, params, head_sizes, lr=0.001, l1=0.0, l2=0.0, log_floor=1e-10):
        """layers: from layer_list; params: per layer a dict of float64 arrays (copied).
        log_floor: the reference's log(p + 1e-10) in the loss (0: an exact log)."""
        self.layers = layers
        self.params = [{k: np.array(v, np.float64) for k, v in p.items()} for p in params]
        self.head_sizes = list(head_sizes)
        self.lr, self.l1, self.l2, self.log_floor = lr, l1, l2, log_floor
        self.adam = [{} for _ in layers]            # per layer: name -> [s, t, n]
        self.running = {}           # batch-norm layer index -> [mavg, mvar], from 0 and 1

    # -- forward ---------------------------------------------------------------------
    def forward(self, x, train, draws=None):
        x = np.asarray(x, np.float64)
        caches = []
        for i, (kind, opts) in enumerate(self.layers):
            x, cache = getattr(self, "_fwd_" + kind)(i, opts, x, train, draws)
            caches.append(cache)
        return x, caches

    def _fwd_full(self, i, o, x, train, draws):
        x2 = x.reshape(len(x), -1)                  # HWC order per sample
        p = self.params[i]
        y = x2 @ p["w"] + p["b"]
        if o["actfunc"] == "relu":
            y = np.maximum(y, 0.0)
        return y, (x.shape, x2, y)

    def _fwd_conv(self, i, o, x, train, draws):
        n, h, w, c = x.shape
        kh, kw = o["ksize"]
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        xpad = np.zeros((n, h + kh - 1, w + kw - 1, c))
        xpad[:, ph:ph + h, pw:pw + w] = x
        k, b = self.params[i]["k"], self.params[i]["b"]
        y = np.zeros((n, h, w, k.shape[3])) + b
        for a in range(kh):
            for d in range(kw):
                y += xpad[:, a:a + h, d:d + w, :] @ k[a, d]
        if o["actfunc"] == "relu":
            y = np.maximum(y, 0.0)
        return y, (xpad, y)

    @staticmethod
    def _windows(x, stride):
        """(N, H/sh, W/sw, C, sh*sw): each window's values in row-major order."""
        n, h, w, c = x.shape
        sh, sw = stride
        v = x.reshape(n, h // sh, sh, w // sw, sw, c).transpose(0, 1, 3, 5, 2, 4)
        return v.reshape(n, h // sh, w // sw, c, sh * sw)

    @staticmethod
    def _unwindows(v, shape, stride):
        n, h, w, c = shape
        sh, sw = stride
        v = v.reshape(n, h // sh, w // sw, c, sh, sw).transpose(0, 1, 4, 2, 5, 3)
        return v.reshape(shape)

    def _fwd_max(self, i, o, x, train, draws):
        win = self._windows(x, o["stride"])
        first = win.argmax(axis=-1)                 # argmax: the first maximum
        return win.max(axis=-1), (x.shape, first)

    def _fwd_avg(self, i, o, x, train, draws):
        return self._windows(x, o["stride"]).mean(axis=-1), x.shape

    def _fwd_dropout(self, i, o, x, train, draws):
        if not train:
            return x, None
        mask = next(draws)
        assert mask.shape == x.shape and mask.dtype == bool, "dropout mask: wrong shape/kind"
        scaled = mask / o["keep_prob"]
        return x * scaled, scaled

    def _fwd_noise(self, i, o, x, train, draws):
        if not train:
            return x, None
        draw = next(draws)              # None: the minibatch's coin said no noise
        if draw is None:
            assert o["ratio"] < 1.0, "noise with ratio 1 must always be added"
            return x, None
        assert draw.shape == x.shape, "noise draw: wrong shape"
        return x + o["mean"] + draw, None

    def _fwd_batch_normal(self, i, o, x, train, draws):
        axes = tuple(range(x.ndim - 1))             # every axis but the channel
        if i not in self.running:
            self.running[i] = [np.zeros(x.shape[-1]), np.ones(x.shape[-1])]
        if train:
            mu, var = x.mean(axis=axes), x.var(axis=axes)
            rho = o["exp_ratio"]
            mavg, mvar = self.running[i]
            mavg += rho * (mu - mavg)
            mvar += rho * (var - mvar)
        else:
            mu, var = self.running[i]
        std = np.sqrt(var + o["epsilon"])
        xhat = (x - mu) / std
        if o["rescale"]:
            y = self.params[i]["scale"] * xhat + self.params[i]["shift"]
        else:
            y = xhat
        return y, (xhat, std)

    # -- backward (with the update of each layer right after its input gradient) -----
    def _bwd_full(self, i, o, g, cache):
        shape, x2, y = cache
        if o["actfunc"] == "relu":
            g = relu_grad(y, g)
        p = self.params[i]
        dx = (g @ p["w"].T).reshape(shape)
        self._update(i, {"w": x2.T @ g, "b": g.sum(axis=0)})
        return dx

    def _bwd_conv(self, i, o, g, cache):
        xpad, y = cache
        if o["actfunc"] == "relu":
            g = relu_grad(y, g)
        n, h, w, _ = y.shape
        kh, kw = o["ksize"]
        ph, pw = (kh - 1) // 2, (kw - 1) // 2
        k = self.params[i]["k"]
        dk = np.zeros_like(k)
        dxpad = np.zeros_like(xpad)
        for a in range(kh):
            for d in range(kw):
                patch = xpad[:, a:a + h, d:d + w, :]
                dk[a, d] = np.einsum("nhwc,nhwo->co", patch, g)
                dxpad[:, a:a + h, d:d + w, :] += g @ k[a, d].T
        self._update(i, {"k": dk, "b": g.sum(axis=(0, 1, 2))})
        return dxpad[:, ph:ph + h, pw:pw + w, :]

    def _bwd_max(self, i, o, g, cache):
        shape, first = cache
        sh, sw = o["stride"]
        onehot = np.arange(sh * sw) == first[..., None]
        return self._unwindows(onehot * g[..., None], shape, o["stride"])

    def _bwd_avg(self, i, o, g, cache):
        sh, sw = o["stride"]
        share = np.repeat(g[..., None] / (sh * sw), sh * sw, axis=-1)
        return self._unwindows(share, cache, o["stride"])

    def _bwd_dropout(self, i, o, g, cache):
        return g if cache is None else g * cache

    def _bwd_noise(self, i, o, g, cache):
        return g

    def _bwd_batch_normal(self, i, o, g, cache):
        xhat, std = cache
        if o["rescale"]:
            axes = tuple(range(g.ndim - 1))
            p = self.params[i]
            g_scale, g_shift = (g * xhat).sum(axis=axes), g.sum(axis=axes)
            g = g * p["scale"]                          # the old scale
            p["scale"] -= self.lr * g_scale             # plain SGD, no decay
            p["shift"] -= self.lr * g_shift
        return g / std                                  # simplified: statistics constant

    def _update(self, i, grads):
        for name, g in grads.items():
            p = self.params[i][name]
            s, t, n = self.adam[i].get(name, (np.zeros_like(p), np.zeros_like(p), 0))
            s = 0.9 * s + 0.1 * g
            t = 0.999 * t + 0.001 * g * g
            n += 1
            self.adam[i][name] = (s, t, n)
            delta = (s / (1 - 0.9 ** n)) / (np.sqrt(t / (1 - 0.999 ** n)) + 1e-8)
            if name in ("w", "k"):
                delta = delta + self.l2 * p + self.l1 * np.sign(p)
            p -= self.lr * delta

    # -- one step --------------------------------------------------------------------
    def weights(self):
        """Every w and k, flattened (what L1/L2 and their cost act on)."""
        return [p[n].ravel() for p in self.params for n in ("w", "k") if n in p]

    def loss(self, logits, labels):
        """(mean cross-entropy summed over heads, dlogits, correct per head)."""
        n = len(logits)
        total, correct = 0.0, []
        dlogits = np.zeros_like(logits)
        start = 0
        for h, size in enumerate(self.head_sizes):
            z = logits[:, start:start + size]
            shifted = z - z.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            prob = e / e.sum(axis=1, keepdims=True)
            onehot = np.eye(size)[labels[:, h]]
            # -sum_c y_c log(p_c + floor): only the label's term is nonzero
            if self.log_floor:
                log_p = np.log(prob + self.log_floor)
            else:       # the exact log, also where p underflows to 0
                log_p = shifted - np.log(e.sum(axis=1, keepdims=True))
            total += float(np.mean(-log_p[np.arange(n), labels[:, h]]))
            correct.append(int((prob.argmax(axis=1) == labels[:, h]).sum()))
            dlogits[:, start:start + size] = (prob - onehot) / n
            start += size
        return total, dlogits, correct

    def step(self, x, labels, draws=()):
        """One training step on a minibatch (NHWC pixels, int labels (N, heads)).
        Returns (cost, data_loss, extra, correct)."""
        draws = iter(draws)
        logits, caches = self.forward(x, True, draws)
        assert next(draws, None) is None, "more random draws recorded than layers used"
        data_loss, g, correct = self.loss(logits, labels)
        extra = 0.0
        if self.l1 > 0 or self.l2 > 0:
            w = np.concatenate(self.weights())          # before the update
            if self.l2 > 0:
                extra += float(np.sum(w * w)) / 2
            if self.l1 > 0:
                extra += float(np.sum(np.abs(w)))
        for i in reversed(range(len(self.layers))):
            kind, opts = self.layers[i]
            g = getattr(self, "_bwd_" + kind)(i, opts, g, caches[i])
        return data_loss + extra, data_loss, extra, correct

    def predict(self, x):
        return self.forward(x, False)[0]
