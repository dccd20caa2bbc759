"""Fixtures that start the Kubernetes emulator (filled in by the emulator issue)."""
