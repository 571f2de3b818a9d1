"""``python -m benchmarks``: the harness's command line, plus the suite's own ``provenance`` command (asv imports
this module too, hence the guard)."""

import sys

if __name__ == "__main__":
    from .harness.cli import main
    from .provenance import add_command

    sys.exit(main(extend=add_command))
