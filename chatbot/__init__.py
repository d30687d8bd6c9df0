"""医保问答: retrieval-augmented answers about Chinese medical insurance, always with citations."""

__version__ = "0.1.0"
