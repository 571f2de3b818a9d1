"""The pipeline's one exception tree: a step that cannot go on raises ``PipelineError`` with one line, and
``python -m pipeline`` prints it and exits with status 1. Git, asv and GitHub's API failures are mapped to it
where they are called, with what was being done."""

from __future__ import annotations


class PipelineError(Exception):
    """A step of the pipeline that cannot go on; one line."""


def show(value) -> str:
    """A value from outside (an artifact, an API's answer) in a message: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def oneline(error: BaseException) -> str:
    """An exception's message on one line, cut to 200 characters."""
    return " ".join(str(error).split())[:200]
