"""``python -m benchmarks``: the harness's command line (asv imports this module too, hence the guard)."""

import sys

from .harness.cli import main

if __name__ == "__main__":
    sys.exit(main())
