"""Why did the study's L1/L2 MLP runs take 3.6x as long as the plain one (464-548 s
against 129 s)? A timing reproduction of the reference's training step for the MLP
[30, 10] on 96x96x3 inputs, in the reference's arithmetic: float64 parameters, float32
images, plain NumPy expressions with their temporaries, Adam per array and the decay
after it, written as docs/reproduction.md describes (not the engine's code).

Per-step time of:
  plain        the step without L1/L2 (the study's flowers_mlp)
  decay        the step with the L2 decay after Adam, without the penalty cost
  l2 / l1      the step with the decay and the reported penalty cost, gathered every
               step from all 829,790 weights into one Python list (quirk Q7), as the
               reference does: the study's L1/L2 runs
  gather only  the Python-list gather and sum alone
  subnormal    the plain step with 27 of the 30 first-layer units dead (zero gradient)
               and their Adam moments subnormal (what suspect (b) would look like)
  subnormal+FTZ the same with the CPU's flush-to-zero and denormals-are-zero bits set
               (x86 MXCSR, through a two-line C helper built with cc; skipped without)

Inputs: random pixels, or with --data a flowers cache from `regstudy prepare` (96x96):
its images as raw pixels in the reference's H, W, C order, minibatches of 10 drawn
through the whole set in a seeded order, for the timed steps and for the subnormal count
(which on real images can differ from random ones). Run single-threaded:
  OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python research/benchmarks/reference_timing.py [--data CACHE]
"""
import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

SIZES = [96 * 96 * 3, 30, 10, 5]
EXPONENT = np.uint64(0x7FF0000000000000)
MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)


def subnormals(a):
    """Subnormal entries of a float64 array, from the bit patterns (DAZ-proof)."""
    bits = np.ascontiguousarray(a).view(np.uint64)
    return int(np.count_nonzero(((bits & EXPONENT) == 0) & ((bits & MANTISSA) != 0)))


class ReferenceMlp:
    """The reference's MLP step: forward, loss, backward with each layer's update."""

    def __init__(self, rng, l1=0.0, l2=0.0, gather=True):
        self.w = [rng.normal(0, 0.03, (a, b)) for a, b in zip(SIZES, SIZES[1:])]
        self.b = [np.zeros(b) for b in SIZES[1:]]
        self.adam = {}
        self.l1, self.l2, self.gather = l1, l2, gather
        self.lr = 0.001

    def penalty(self):
        """Q7: every weight into one Python list, then summed."""
        params = []
        for w in reversed(self.w):             # output layer first, as the reference
            params += list(w.flatten())
        extra = 0.0
        if self.l2 > 0:
            extra += np.sum(np.square(params)) / 2
        if self.l1 > 0:
            extra += np.sum(np.abs(params))
        return extra

    def update(self, key, p, g, decay):
        s, t, n = self.adam.get(key, (np.zeros(p.shape), np.zeros(p.shape), 0))
        s = 0.9 * s + (1 - 0.9) * g
        t = 0.999 * t + (1 - 0.999) * (g * g)
        n += 1
        self.adam[key] = (s, t, n)
        delta = (s / (1 - 0.9 ** n)) / (np.sqrt(t / (1 - 0.999 ** n)) + 1.0e-8)
        if decay:
            if self.l2 > 0:
                delta += self.l2 * p
            if self.l1 > 0:
                delta += self.l1 * np.sign(p)
        p -= self.lr * delta

    def step(self, x, y):
        hs = [x]
        for i, (w, b) in enumerate(zip(self.w, self.b)):
            a = np.matmul(hs[-1], w) + b
            hs.append(np.maximum(a, 0) if i < len(self.w) - 1 else a)
        z = hs[-1]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        loss = np.mean(-np.sum(y * np.log(p + 1.0e-10), axis=1))
        if (self.l1 > 0 or self.l2 > 0) and self.gather:
            loss += self.penalty()
        g = (p - y) / len(x)
        for i in reversed(range(len(self.w))):
            if i < len(self.w) - 1:
                g = g * np.sign(hs[i + 1])     # ReLU derivative from the output
            gw = np.matmul(hs[i].transpose(), g)
            gb = np.sum(g, axis=0)
            gx = np.matmul(g, self.w[i].transpose())
            self.update(("w", i), self.w[i], gw, decay=True)
            self.update(("b", i), self.b[i], gb, decay=False)
            g = gx
        return loss

    def subnormal_count(self):
        arrays = [*self.w, *self.b, *(a for s, t, _ in self.adam.values() for a in (s, t))]
        return sum(subnormals(a) for a in arrays)


def make_subnormal(net, rng, x, y, dead=27):
    """27 of 30 first-layer units dead (bias -1e9: zero gradient, as most of the study's
    units on raw pixels), their Adam moments set subnormal (1e-310)."""
    net.step(x, y)                              # creates the Adam state
    net.b[0][:dead] = -1e9
    s, t, n = net.adam[("w", 0)]
    s[:, :dead] = 1e-310 * np.sign(rng.normal(size=s[:, :dead].shape))
    t[:, :dead] = 1e-310


def ftz_library():
    """ctypes handle with get_csr()/set_csr(v) for the MXCSR register, or None."""
    src = ("#include <xmmintrin.h>\nunsigned get_csr(void){return _mm_getcsr();}\n"
           "void set_csr(unsigned v){_mm_setcsr(v);}\n")
    d = tempfile.mkdtemp(prefix="mxcsr")
    c, so = os.path.join(d, "m.c"), os.path.join(d, "m.so")
    with open(c, "w") as fh:
        fh.write(src)
    try:
        subprocess.run(["cc", "-O2", "-shared", "-fPIC", c, "-o", so], check=True,
                       capture_output=True)
        lib = ctypes.CDLL(so)
        lib.get_csr.restype = ctypes.c_uint
        return lib
    except (OSError, subprocess.CalledProcessError):
        return None


class GatherOnly:
    """The penalty gather and sum alone, as a variant of its own."""

    def __init__(self, rng):
        self.net = ReferenceMlp(rng, l2=0.1)
        self.adam = {}

    def step(self, x, y):
        self.net.penalty()

    def subnormal_count(self):
        return 0


def measure(variants, x, y, steps, warmup=3, csr=None):
    """Round robin: one step of each variant in turn, so the machine's load (shared,
    busy) weighs on all of them alike. Returns per variant the list of step times."""
    times = {name: [] for name, *_ in variants}
    for k in range(warmup + steps):
        for name, net, ftz in variants:
            old = None
            if ftz:
                old = csr.get_csr()
                csr.set_csr(old | 0x8040)       # FTZ (bit 15) and DAZ (bit 6)
            t0 = time.perf_counter()
            net.step(x, y)
            dt = time.perf_counter() - t0
            if old is not None:
                csr.set_csr(old)
            if k >= warmup:
                times[name].append(dt)
    return times


def random_batches(rng):
    """Endless minibatches of 10 random raw-pixel images and one-hot labels."""
    while True:
        yield (rng.integers(0, 256, (10, SIZES[0])).astype(np.float32),
               np.eye(SIZES[-1])[rng.integers(0, SIZES[-1], 10)])


def real_batches(path, rng):
    """Endless minibatches of 10 of the cache's images (raw pixels, flattened H, W, C
    per sample as the reference's full layer does) with one-hot labels, epoch after
    epoch in a fresh seeded order."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src"))
    from pipeline.data.cache import load_cache
    cache = load_cache(path)
    images, labels = cache["x"], cache["y"][:, 0]
    if images[0].size != SIZES[0]:
        sys.exit(f"{path}: images of {images.shape[1:]} pixels; this reproduction is of the "
                 "study's 96x96x3 MLP (prepare the cache with --size 96)")
    while True:
        order = rng.permutation(len(images))
        for i in range(0, len(order) - 9, 10):
            idx = order[i:i + 10]
            yield (images[idx].reshape(10, -1).astype(np.float32),
                   np.eye(SIZES[-1])[labels[idx]])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=30, help="timed steps per variant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--count-steps", type=int, default=300,
                    help="untimed steps of an L1 0.01 run (no gather) before counting its "
                         "subnormals (does the reference's float64 run make any?)")
    ap.add_argument("--data", help="a 96x96 flowers cache (.npz from `regstudy prepare`): "
                    "real images instead of random pixels")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    batches = real_batches(args.data, rng) if args.data else random_batches(rng)
    x, y = next(batches)

    def net(**kw):
        return ReferenceMlp(np.random.default_rng(1), **kw)

    sub = net()
    make_subnormal(sub, rng, x, y)
    csr = ftz_library()
    variants = [("plain", net(), False),
                ("decay (L2 0.1), no gather", net(l2=0.1, gather=False), False),
                ("L2 0.1: decay + list gather", net(l2=0.1), False),
                ("L1 0.01: decay + list gather", net(l1=0.01), False),
                ("list gather + sum alone (L2)", GatherOnly(np.random.default_rng(1)), False),
                ("plain, subnormal Adam moments", sub, False)]
    if csr is not None:
        sub_ftz = net()
        make_subnormal(sub_ftz, rng, x, y)
        variants.append(("plain, subnormal moments, FTZ+DAZ", sub_ftz, True))
    before = {name: n.subnormal_count() for name, n, _ in variants}
    times = measure(variants, x, y, args.steps, csr=csr)

    if args.count_steps:
        net = ReferenceMlp(np.random.default_rng(2), l1=0.01, gather=False)
        for _ in range(args.count_steps):
            net.step(*next(batches))
        dead = int(np.count_nonzero(net.adam[("b", 0)][0] == 0))
        print(f"after {args.count_steps} steps of an L1 0.01 run on "
              f"{'the real images of ' + args.data if args.data else 'random pixels'}: "
              f"{net.subnormal_count()} subnormal values in weights, biases and Adam "
              f"moments; {dead} of 30 first-layer units never had a gradient")
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"{args.steps} timed steps per variant, batch 10, MLP {SIZES}")
    print("| variant | median ms/step | p90 ms/step | subnormals (before -> after) |")
    print("|---|---|---|---|")
    base = np.median(times["plain"])
    for name, n, _ in variants:
        t = np.asarray(times[name])
        sub = "-" if isinstance(n, GatherOnly) else f"{before[name]} -> {n.subnormal_count()}"
        print(f"| {name} | {1e3 * np.median(t):.1f} ({np.median(t) / base:.1f}x) | "
              f"{1e3 * np.percentile(t, 90):.1f} | {sub} |")
    if csr is None:
        print("(no C compiler: flush-to-zero not measured)")


if __name__ == "__main__":
    main()
