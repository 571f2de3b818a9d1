"""The benchmark harness: scenarios, server launcher, load generators, verified runs and results.

It never imports the subject (``planet_tracker``): servers are started from the app-factory strings with the
current interpreter, so under asv it measures whichever commit asv built.
"""
