"""qco: the Qdrant Collection Operator."""

__version__ = "0.1.0"
API_GROUP = "qco.dev"
API_VERSION = "v1alpha1"
