"""The random numbers a layer may draw in one training step."""


class Draws:
    """The random numbers one shard may use in one training step: `batch` gives the same
    draws in every shard (per-minibatch decisions such as noise's `ratio` coin), `local`
    this shard's own (dropout masks, noise samples)."""

    def __init__(self, batch, local):
        self.batch, self.local = batch, local

    @classmethod
    def of(cls, rng):
        """Unsharded use: a Generator serves both purposes (None stays None)."""
        return rng if rng is None or isinstance(rng, cls) else cls(rng, rng)
