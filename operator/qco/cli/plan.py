"""`qco plan -f FILE --qdrant-url URL`: what qco would change; nothing is written."""

from qco.cli.offline import add_arguments
from qco.cli.offline import run_plan as run

__all__ = ["add_arguments", "run"]
