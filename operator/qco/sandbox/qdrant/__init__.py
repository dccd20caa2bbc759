"""A Qdrant-REST-compatible server backed by Qdrant's own engine (qdrant-edge-py).

`QdrantSandbox` runs it inside an asyncio program; `python -m qco.sandbox.qdrant` runs it
as a process. Only the subset of the REST API that qco uses is served.
"""

from qco.sandbox.qdrant.server import QdrantSandbox, SandboxConfig

__all__ = ["QdrantSandbox", "SandboxConfig"]
