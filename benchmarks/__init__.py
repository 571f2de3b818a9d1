"""The instrument: an asv suite (this package's modules) over a harness (``benchmarks.harness``).

The harness reaches the app only through its factory strings and real servers; it never imports
``planet_tracker``. Run ``python -m benchmarks --help`` for the command line.
"""
