"""``python -m reports``: reports built from asv's results."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
