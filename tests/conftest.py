"""Shared test configuration: the stand-ins each test starts on loopback ports live in plugins."""

pytest_plugins = [
    "tests.plugins.qdrant_server",
    "tests.plugins.kube_emulator",
]
