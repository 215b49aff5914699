"""regstudy: a reproducible study of five regularizers on small image classifiers."""
__version__ = "0.1.0"
