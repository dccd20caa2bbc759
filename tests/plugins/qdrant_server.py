"""Fixtures that start the Qdrant stand-in (filled in by the sandbox issue)."""
