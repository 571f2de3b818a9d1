"""Is the server answering what the app should? Checked before load and after it (as TechEmpower does).

Before: the target URL answers 200, ``application/json``, and a body with ``name``, ``alt`` and ``az`` in range.
After: any non-2xx answer, socket error or timeout during the load makes the run failed, with the reason.
"""

from __future__ import annotations

import http.client
import json
import math
from urllib.parse import urlsplit

from .errors import VerificationFailed
from .launcher import http_get
from .loadgen.base import LoadResult


def check_target(port: int, path: str, timeout: float = 5.0) -> dict:
    """One GET of the planet URL; return the decoded answer or raise VerificationFailed."""
    try:
        status, content_type, body = http_get(port, path, timeout=timeout)
    except (OSError, http.client.HTTPException) as error:
        raise VerificationFailed(f"GET {path} failed: {error}") from None
    return check_answer(path, status, content_type, body)


def check_answer(path: str, status: int, content_type: str, body: bytes) -> dict:
    """Whether one answer to the planet URL ``path`` is what the app should say; the decoded answer, or
    VerificationFailed."""
    if status != 200:
        raise VerificationFailed(f"GET {path} answered {status}, not 200: {body[:120]!r}")
    if content_type.split(";")[0].strip() != "application/json":
        raise VerificationFailed(f"GET {path} answered {content_type!r}, not application/json")
    try:
        answer = json.loads(body)
    except ValueError:
        raise VerificationFailed(f"GET {path} answered a body that is not JSON: {body[:120]!r}") from None
    planet = urlsplit(path).path.rsplit("/", 1)[-1].lower()
    if not isinstance(answer, dict) or answer.get("name") != planet:
        raise VerificationFailed(f"GET {path} answered {body[:120]!r}: no name {planet!r}")
    for key, low, high in (("alt", -90.0, 90.0), ("az", 0.0, 360.0)):
        value = answer.get(key)
        if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
            raise VerificationFailed(f"GET {path} answered {key}={value!r}, not a number in [{low:g}, {high:g}]")
    return answer


def check_load(result: LoadResult) -> str | None:
    """Why a load run cannot count, or None when every request got a 2xx answer in time."""
    problems = result.problems()
    return "; ".join(problems) if problems else None
