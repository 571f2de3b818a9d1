from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from planet_tracker import core
from planet_tracker.errors import InvalidParameter, PlanetTrackerError, UnknownPlanet

WHEN = "2018-11-26T10:00:00Z"


def angle_diff(a: float, b: float) -> float:
    return abs((a - b + 180) % 360 - 180)


def test_reference_positions(reference):
    for case in reference["cases"]:
        query = core.make_query(case["planet"], lon=case["lon"], lat=case["lat"],
                                elevation=str(case["elevation"]), when=case["when"])
        alt, az = core.altaz(query)
        assert abs(alt - case["alt"]) <= reference["tolerance_deg"], case
        assert angle_diff(az, case["az"]) <= reference["tolerance_deg"], case


def test_longitude_is_in_degrees():
    # 15 degrees east is one sidereal hour (3590.17 s) ahead: Saturn barely moves against the stars in that time.
    east = core.altaz(core.make_query("saturn", lon="15", lat="40", when="2020-07-15T10:00:00Z"))
    later = core.altaz(core.make_query("saturn", lon="0", lat="40", when="2020-07-15T10:59:50.17Z"))
    assert abs(east[0] - later[0]) < 0.01 and angle_diff(east[1], later[1]) < 0.01


def test_latitude_is_in_degrees():
    # At the north pole a body's altitude is its declination, whatever the time or longitude.
    pole = [core.altaz(core.make_query("jupiter", lat="90", lon=lon, when=WHEN))[0] for lon in ("0", "120")]
    assert abs(pole[0] - pole[1]) < 0.01
    assert abs(core.altaz(core.make_query("jupiter", lat="89", when=WHEN))[0] - pole[0]) < 1.01


def test_defaults_are_greenwich():
    default = core.position(core.make_query("mars", when=WHEN))
    explicit = core.position(core.make_query("mars", lon="-0.0005", lat="51.4769", elevation="0", when=WHEN))
    assert default == explicit
    assert default["observer"] == {"lon": -0.0005, "lat": 51.4769, "elevation": 0.0}


def test_elevation_is_used():
    low = core.altaz(core.make_query("mars", elevation="0", when=WHEN))
    high = core.altaz(core.make_query("mars", elevation="100000", when=WHEN))
    assert low != high  # topocentric parallax: tiny for a planet, but not nothing


def test_planet_names_are_case_insensitive():
    assert core.parse_planet("MaRs") == "mars"
    assert set(core.PLANETS) == {"mercury", "venus", "mars", "jupiter", "saturn", "uranus", "neptune"}


@pytest.mark.parametrize("name", ["pluto", "", "moon", "mars ", "марс", "mars\x00", "x" * 10000])
def test_unknown_planets(name):
    with pytest.raises(UnknownPlanet) as info:
        core.parse_planet(name)
    assert info.value.status == 404
    assert info.value.payload()["parameter"] == "name"


@pytest.mark.parametrize("parameter,value", [
    ("lon", "180.0001"), ("lon", "-181"), ("lat", "90.5"), ("lat", "-91"),
    ("elevation", "-1000.5"), ("elevation", "100001"), ("elevation", "1e999"),
    ("lon", "nan"), ("lon", "NaN"), ("lat", "inf"), ("lat", "-Infinity"), ("lon", ""), ("lon", " 1"),
    ("lon", "1_0"), ("lon", "0x10"), ("lon", "١٢"), ("lon", "1,5"), ("lon", "1" * 100), ("lat", "--1"),
    ("io_ms", "-1"), ("io_ms", "1001"), ("io_ms", "1.5"), ("io_ms", ""), ("io_ms", "+5"), ("io_ms", "٥"),
    ("when", "yesterday"), ("when", "2019-02-30T00:00:00Z"), ("when", "2018-11-26T25:00:00Z"),
    ("when", "1799-12-31T23:59:59Z"), ("when", "2201-01-01T00:00:00Z"), ("when", "1800-01-01T00:30:00+01:00"),
    ("when", "2018-11-26T10:00:00+24:00"), ("when", "2018-11-26 10:00:00Z"), ("when", ""),
    ("when", "２０１８-11-26"), ("when", "2018-11-26T10:00:00.1234567Z"),
])
def test_invalid_values(parameter, value):
    with pytest.raises(InvalidParameter) as info:
        core.make_query("mars", **{parameter: value})
    assert info.value.status == 400
    assert info.value.payload() == {"error": info.value.message, "parameter": parameter}
    assert info.value.message.startswith(repr(parameter) + " ")


@pytest.mark.parametrize("parameter,value,expected", [
    ("lon", "180", 180.0), ("lon", "-180", -180.0), ("lat", "+45.5", 45.5), ("lat", ".5", 0.5),
    ("lat", "-0", 0.0), ("elevation", "1e3", 1000.0), ("elevation", "-1000", -1000.0), ("lon", "5.", 5.0),
])
def test_valid_numbers(parameter, value, expected):
    observer = core.make_query("mars", **{parameter: value}).observer
    assert getattr(observer, parameter) == expected
    assert math.copysign(1, getattr(observer, parameter)) == math.copysign(1, expected)


@pytest.mark.parametrize("text,expected", [
    ("2018-11-26T10:00:00Z", datetime(2018, 11, 26, 10)),
    ("2018-11-26t10:00z", datetime(2018, 11, 26, 10)),
    ("2018-11-26", datetime(2018, 11, 26)),
    ("2018-11-26T10:00:00", datetime(2018, 11, 26, 10)),
    ("2018-11-26T12:30:00+02:30", datetime(2018, 11, 26, 10)),
    ("2018-11-26T00:00:00-05:00", datetime(2018, 11, 26, 5)),
    ("2018-11-26T10:00:00.25Z", datetime(2018, 11, 26, 10, 0, 0, 250000)),
    ("1800-01-01T00:00:00Z", datetime(1800, 1, 1)),
    ("2200-12-31T23:59:59Z", datetime(2200, 12, 31, 23, 59, 59)),
])
def test_when(text, expected):
    assert core.parse_when(text) == expected


def test_when_is_echoed_in_utc():
    assert core.position(core.make_query("mars", when="2018-11-26T12:30:00.5+02:30"))["when"] == \
        "2018-11-26T10:00:00.500000Z"


def test_when_defaults_to_now():
    start = datetime.now(UTC).replace(tzinfo=None)
    stamp = core.position(core.make_query("venus"))["when"]
    assert start <= core.parse_when(stamp) <= datetime.now(UTC).replace(tzinfo=None)


def test_parse_query_takes_every_pair():
    query = core.parse_query("Jupiter", [("lon", "10"), ("lat", "20"), ("elevation", "30"), ("io_ms", "7")])
    assert query == core.Query("jupiter", core.Observer(10.0, 20.0, 30.0), None, 7)


@pytest.mark.parametrize("pairs,parameter", [
    ([("lon", "1"), ("lon", "1")], "lon"),
    ([("LON", "1")], "LON"),
    ([("", "1")], ""),
    ([("x" * 1000, "1")], "x" * 64),
])
def test_parse_query_rejects_repeated_and_unknown(pairs, parameter):
    with pytest.raises(InvalidParameter) as info:
        core.parse_query("mars", pairs)
    assert info.value.parameter == parameter


def test_unknown_planet_wins_over_bad_parameters():
    with pytest.raises(UnknownPlanet):
        core.parse_query("pluto", [("lon", "nan")])


def test_bodies_are_compact_json():
    body = core.position_body(core.make_query("mars", when=WHEN))
    assert json.loads(body)["name"] == "mars" and b" " not in body
    assert json.loads(core.status_body(405)) == {"error": "method not allowed"}
    assert json.loads(core.error_body(PlanetTrackerError("boom", parameter="x"))) == {"error": "boom", "parameter": "x"}
