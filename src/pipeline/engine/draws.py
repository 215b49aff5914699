"""The random numbers a layer may draw in one training step.

A layer asks its step's draws object, never a generator directly:
`keep_mask(shape, keep_prob)` (dropout) and `noise(shape, options, dtype)` (noise
injection: None when the minibatch's coin says no noise). `Draws` makes them from the
engine's Generators; engine.book_draws.BookDraws hands out the reference's own draws,
replayed."""
from .dropout_mask import keep_mask
from .gaussian import normal


class Draws:
    """The random numbers one shard may use in one training step: `batch` gives the same
    draws in every shard (per-minibatch decisions such as noise's `ratio` coin), `local`
    this shard's own (dropout masks, noise samples)."""

    def __init__(self, batch, local):
        self.batch, self.local = batch, local

    def keep_mask(self, shape, keep_prob):
        """A boolean array of `shape`, each entry True with probability keep_prob."""
        return keep_mask(self.local, shape, keep_prob)

    def noise(self, shape, options, dtype):
        """N(0, std) samples of `shape` with probability `ratio` (one coin per
        minibatch, shared by its shards), else None."""
        if self.batch.random() < options["ratio"]:
            return normal(self.local, shape, options["std"], dtype)
        return None

    @classmethod
    def of(cls, rng):
        """Unsharded use: a Generator serves both purposes (None stays None)."""
        return rng if rng is None or isinstance(rng, cls) else cls(rng, rng)
