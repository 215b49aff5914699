"""The data errors: each message names the path at fault and what was expected there."""
from __future__ import annotations


class DataError(Exception):
    """A data set cannot be prepared or read (the message says where and why)."""


class LayoutError(DataError):
    """An image folder does not have the expected layout (missing, empty, wrong nesting)."""


class CacheError(DataError):
    """A cache file is missing, corrupt, truncated or does not follow the cache contract."""
