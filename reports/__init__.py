"""Reports from asv's results: the summary tables, charts and exports, and commit comparisons.

Reads results only (asv's, through its own loaders); never imports the app or the harness's servers.
"""
