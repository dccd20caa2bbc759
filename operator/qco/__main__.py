"""`python -m qco` is the `qco` command."""

import sys

from qco.cli import main

sys.exit(main())
