"""The publishing pipeline: what the GitHub workflows run, as commands that run (and are rehearsed) anywhere.

Reads and writes benchmark results and the ``asv-results`` history branch; never imports the app.
"""
