"""The browser page at ``/``, read once from package data by whichever app serves it."""

from __future__ import annotations

from importlib import resources


def page_bytes() -> bytes:
    return resources.files(__package__).joinpath("static", "index.html").read_bytes()


PAGE_CONTENT_TYPE = "text/html; charset=utf-8"
