"""planet_tracker: where a planet stands in an observer's sky, served by aiohttp and by Flask.

The app factories are the stable contract with servers and the benchmark harness:
``planet_tracker.aiohttp_app:create_app`` and ``planet_tracker.flask_app:create_app``.
"""

__version__ = "1.0.0"
