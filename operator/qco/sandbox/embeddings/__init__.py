"""An OpenAI-compatible `/v1/embeddings` server backed by a real small embedding model whose
weights ship inside a PyPI package (`tokenlearn-static-model`: 64-dimension static embeddings,
no network, no torch). A stand-in for TEI, vLLM or OpenAI in `qco sandbox` and the tests."""
