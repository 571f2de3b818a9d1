"""The framework-free core: which planets exist, what a valid query is, and where the planet is.

Everything the web adapters and the command line answer is built here, as bytes, so that the aiohttp and
Flask apps cannot drift apart: for the same inputs (with ``when`` fixed) they return byte-identical bodies.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from http import HTTPStatus

import ephem

from .errors import InvalidParameter, PlanetTrackerError, UnknownPlanet

PLANETS = {
    "mercury": ephem.Mercury,
    "venus": ephem.Venus,
    "mars": ephem.Mars,
    "jupiter": ephem.Jupiter,
    "saturn": ephem.Saturn,
    "uranus": ephem.Uranus,
    "neptune": ephem.Neptune,
}

# The article's default observer: the Royal Observatory, Greenwich.
DEFAULT_LON = -0.0005
DEFAULT_LAT = 51.4769
DEFAULT_ELEVATION = 0.0

LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)
ELEVATION_RANGE = (-1000.0, 100000.0)  # metres: the Dead Sea shore to the edge of space
YEAR_RANGE = (1800, 2200)
IO_MS_RANGE = (0, 1000)

PARAMETERS = ("lon", "lat", "elevation", "when", "io_ms")

# Plain ASCII decimal numbers only: float() alone would also take "nan", "inf", "1_000", " 1 " and
# non-ASCII digits such as "١٢", none of which a client means as a coordinate.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)
_INTEGER = re.compile(r"\d{1,4}", re.ASCII)
# The ISO 8601 extended form (RFC 3339 style), parsed by hand so that every supported Python (3.11 to
# 3.14, whose datetime.fromisoformat takes more forms with each release) accepts exactly the same inputs.
_WHEN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))?",
    re.ASCII,
)
_MAX_VALUE_LENGTH = 64


@dataclass(frozen=True)
class Observer:
    """Where the observer stands: longitude and latitude in decimal degrees, elevation in metres."""

    lon: float = DEFAULT_LON
    lat: float = DEFAULT_LAT
    elevation: float = DEFAULT_ELEVATION


@dataclass(frozen=True)
class Query:
    """A validated request for one planet's position. ``when`` is naive UTC, or None for "now"."""

    planet: str
    observer: Observer = Observer()
    when: datetime | None = None
    io_ms: int = 0


def parse_planet(name: str) -> str:
    """Return the canonical (lower-case) planet name, or raise UnknownPlanet."""
    planet = name.lower()
    if planet not in PLANETS:
        raise UnknownPlanet("unknown planet; choose one of " + ", ".join(PLANETS), parameter="name")
    return planet


def parse_query(name: str, params: Iterable[tuple[str, str]]) -> Query:
    """Validate a planet name and the query-string pairs that came with it.

    ``params`` is every (name, value) pair in order, repeats included, so that a repeated parameter is an
    error rather than whichever copy a framework happens to keep.
    """
    planet = parse_planet(name)
    values: dict[str, str] = {}
    for key, value in params:
        if key not in PARAMETERS:
            raise InvalidParameter(key[:_MAX_VALUE_LENGTH], "is not a parameter; known: " + ", ".join(PARAMETERS))
        if key in values:
            raise InvalidParameter(key, "is repeated")
        values[key] = value
    return make_query(planet, **values)


def make_query(
    planet: str,
    lon: str | None = None,
    lat: str | None = None,
    elevation: str | None = None,
    when: str | None = None,
    io_ms: str | None = None,
) -> Query:
    """Build a Query from raw text values; None means "use the default"."""
    observer = Observer(
        lon=DEFAULT_LON if lon is None else _parse_number("lon", lon, LON_RANGE),
        lat=DEFAULT_LAT if lat is None else _parse_number("lat", lat, LAT_RANGE),
        elevation=DEFAULT_ELEVATION if elevation is None else _parse_number("elevation", elevation, ELEVATION_RANGE),
    )
    return Query(
        planet=parse_planet(planet),
        observer=observer,
        when=None if when is None else parse_when(when),
        io_ms=0 if io_ms is None else _parse_io_ms(io_ms),
    )


def _parse_number(parameter: str, text: str, bounds: tuple[float, float]) -> float:
    low, high = bounds
    if len(text) > _MAX_VALUE_LENGTH or not _NUMBER.fullmatch(text):
        raise InvalidParameter(parameter, "must be a decimal number")
    value = float(text)
    # NaN cannot reach here (the pattern has no "nan"), but 1e999 overflows to inf: the range check catches it.
    if not low <= value <= high:
        raise InvalidParameter(parameter, f"must be between {low:g} and {high:g}")
    return value + 0.0  # normalise -0.0 so that "-0" and "0" give the same body


def _parse_io_ms(text: str) -> int:
    low, high = IO_MS_RANGE
    if not _INTEGER.fullmatch(text) or not low <= int(text) <= high:
        raise InvalidParameter("io_ms", f"must be an integer from {low} to {high}")
    return int(text)


def parse_when(text: str) -> datetime:
    """Parse an ISO 8601 instant into naive UTC; no offset means UTC."""
    match = _WHEN.fullmatch(text) if len(text) <= _MAX_VALUE_LENGTH else None
    if match is None:
        raise InvalidParameter("when", "must be an ISO 8601 instant such as 2018-11-26T10:00:00Z")
    year, month, day, hour, minute, second, fraction, _, sign, off_h, off_m = match.groups()
    if not YEAR_RANGE[0] <= int(year) <= YEAR_RANGE[1]:
        raise InvalidParameter("when", f"must be between the years {YEAR_RANGE[0]} and {YEAR_RANGE[1]}")
    try:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta(0)
        instant = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except ValueError:  # 2019-02-30, 24:00, an offset of 24 hours or more
        raise InvalidParameter("when", "is not a real date and time") from None
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    if not YEAR_RANGE[0] <= utc.year <= YEAR_RANGE[1]:
        raise InvalidParameter("when", f"must be between the years {YEAR_RANGE[0]} and {YEAR_RANGE[1]}")
    return utc


def format_when(when: datetime) -> str:
    """Naive UTC to ISO 8601 with a Z; microseconds only when there are some."""
    return when.isoformat() + "Z"


def altaz(query: Query, now: datetime | None = None) -> tuple[float, float]:
    """The planet's apparent altitude and azimuth in degrees (ephem's default refraction: 15 C, 1010 hPa)."""
    observer = ephem.Observer()
    # ephem reads a float as radians and a string as degrees: hand it radians, explicitly.
    observer.lon = math.radians(query.observer.lon)
    observer.lat = math.radians(query.observer.lat)
    observer.elevation = query.observer.elevation
    observer.date = ephem.Date(query.when or now)
    body = PLANETS[query.planet](observer)
    return math.degrees(body.alt), math.degrees(body.az)


def position(query: Query) -> dict:
    """The API's answer for a query, as a dict (the JSON body's content)."""
    when = query.when or datetime.now(UTC).replace(tzinfo=None)
    alt, az = altaz(query, when)
    return {
        "name": query.planet,
        "alt": alt,
        "az": az,
        "when": format_when(when),
        "observer": {"lon": query.observer.lon, "lat": query.observer.lat, "elevation": query.observer.elevation},
    }


def to_json(payload: dict) -> bytes:
    """The one JSON encoding every body uses, so both frameworks send the same bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def position_body(query: Query) -> bytes:
    return to_json(position(query))


def error_body(error: PlanetTrackerError) -> bytes:
    return to_json(error.payload())


def status_body(status: int) -> bytes:
    """The body for an HTTP error that the router, not the core, decided (404 path, 405 method, ...)."""
    return to_json({"error": HTTPStatus(status).phrase.lower()})


def allow_header(methods: Iterable[str]) -> str:
    """The Allow header of a 405, spelled the same by both frameworks."""
    return ", ".join(sorted(methods))


HEALTH_BODY = to_json({"status": "ok"})
