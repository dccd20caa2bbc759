"""Delivery tests: the Helm chart, the container image recipe, GitOps health and the docs."""
