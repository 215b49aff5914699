"""Activations of full and conv layers. Derivatives use the output y, as the reference
does (ReLU: y > 0; sigmoid: y(1-y); tanh: (1+y)(1-y))."""
import numpy as np


def forward(name, z):
    """Apply in place to the pre-activation z (a fresh array owned by the layer)."""
    if name == "relu":
        np.maximum(z, 0, out=z)
    elif name == "sigmoid":
        # stable form: exp(-max(-z,0)) / (1 + exp(-|z|))
        e = np.exp(-np.abs(z))
        np.divide(np.where(z >= 0, 1.0, e), 1.0 + e, out=z)
    elif name == "tanh":
        np.tanh(z, out=z)
    return z


def backward(name, y, dout):
    if name == "relu":
        return dout * (y > 0)
    if name == "sigmoid":
        return dout * y * (1.0 - y)
    if name == "tanh":
        return dout * (1.0 + y) * (1.0 - y)
    return dout
