"""The vectorized NumPy engine: layers (one module per kind), losses, optimizer,
network builder, protocol options and parameter statistics.

Activations inside the engine are float32. Image tensors use the CNHW layout
(channels, batch, height, width) so that a convolution is one matrix product whose
result is already in that layout; full layers see (batch, features).
"""
