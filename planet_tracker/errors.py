"""The one exception tree of planet_tracker.

    PlanetTrackerError              base: carries the HTTP status and a JSON-ready payload
    ├── UnknownPlanet               404: the planet is not one of PLANETS
    └── InvalidParameter            400: a query parameter is missing its form, repeated, unknown or out of range

The web adapters turn these into JSON error bodies; the command line turns them into a one-line message.
"""

from __future__ import annotations


class PlanetTrackerError(Exception):
    """Base of every error the core raises on bad input."""

    status = 400

    def __init__(self, message: str, **fields: str) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    def payload(self) -> dict[str, str]:
        """The JSON error object: ``{"error": message, ...fields}``."""
        return {"error": self.message, **self.fields}


class UnknownPlanet(PlanetTrackerError):
    status = 404


class InvalidParameter(PlanetTrackerError):
    status = 400

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter!r} {message}", parameter=parameter)
        self.parameter = parameter
