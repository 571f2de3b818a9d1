"""The GitHub workflows rehearsed on this machine by act, with stand-ins for the actions and GitHub's API.

See rehearsal/act.py (the driver), rehearsal/standins.py (the actions), rehearsal/api.py (the REST API)."""

from .act import ActRun, Leg, Rehearsal, RehearsalError

__all__ = ["ActRun", "Leg", "Rehearsal", "RehearsalError"]
