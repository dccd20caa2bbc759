"""qco: the Qdrant Collection Operator."""

__version__ = "0.1.0"
