"""The pipeline's one exception tree: a step that cannot go on raises ``PipelineError`` with one line, and
``python -m pipeline`` prints it and exits with status 1. Git, asv and GitHub's API failures are mapped to it
where they are called, with what was being done."""

from __future__ import annotations


class PipelineError(Exception):
    """A step of the pipeline that cannot go on; one line."""
