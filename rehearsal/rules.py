"""GitHub's rules as the rehearsal applies them, each in one place, each with where it is written down.

Standard library only: the driver (act.py), the API (api.py), the git server (git_http.py) and the stand-ins
(standins.py, copied beside this file into each action's folder) all take their rules from here.
docs/publishing.md lists them, and the rules the rehearsal does not model.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

# -- the job's GITHUB_TOKEN ------------------------------------------------------------------------------------------
# docs.github.com/actions/security-for-github-actions/security-guides/automatic-token-authentication
# ("Permissions for the GITHUB_TOKEN") and /actions/writing-workflows/workflow-syntax-for-github-actions#permissions.

SCOPES = ("actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "models", "packages", "pages", "pull-requests", "repository-projects", "security-events", "statuses")
LEVELS = {"none": 0, "read": 1, "write": 2}
# Neither the workflow nor the job says: the "restricted" default, a repository's default since February 2023.
RESTRICTED = {"contents": "read", "packages": "read"}
FORBIDDEN = "Resource not accessible by integration"  # GitHub's 403 for a token that lacks the scope


class RuleError(ValueError):
    """A workflow asks for something GitHub would refuse to run (an unknown scope, a level it has not)."""


def declared(permissions) -> dict[str, str]:
    """A ``permissions:`` value as scopes: read-all, write-all, {} (none at all) or scope: level."""
    if permissions in ("read-all", "write-all"):
        level = permissions.split("-")[0]
        return {scope: ("write" if scope == "id-token" and level == "write" else
                        "none" if scope == "id-token" else level) for scope in SCOPES}
    if not isinstance(permissions, dict):
        raise RuleError(f"permissions: {permissions!r} is not read-all, write-all or a map of scopes")
    scopes = {}
    for scope, level in permissions.items():
        if scope not in SCOPES:
            raise RuleError(f"permissions: {scope!r} is not a scope GitHub knows")
        if level not in LEVELS or (scope == "id-token" and level == "read"):
            raise RuleError(f"permissions: {scope}: {level!r} is not a level it has")
        scopes[scope] = level
    return scopes


def token_scopes(workflow: dict, job: dict, event: str, payload: dict) -> dict[str, str]:
    """What a job's GITHUB_TOKEN may do: the job's ``permissions:`` if it has them (they replace the workflow's,
    they are not merged), else the workflow's, else the restricted default; read at most for a fork's
    pull_request, whatever is declared. A workflow_run (or pull_request_target) run gets the base repository's
    token as declared: it runs the default branch's workflow."""
    if "permissions" in job:
        scopes = declared(job["permissions"])
    elif "permissions" in workflow:
        scopes = declared(workflow["permissions"])
    else:
        scopes = dict(RESTRICTED)
    if event == "pull_request" and from_fork(payload):
        scopes = {scope: "read" for scope, level in scopes.items() if level != "none" and scope != "id-token"}
    return {scope: level for scope, level in scopes.items() if level != "none"}


def from_fork(payload: dict) -> bool:
    pull = payload.get("pull_request") or {}
    head = ((pull.get("head") or {}).get("repo") or {}).get("id")
    base = ((pull.get("base") or {}).get("repo") or {}).get("id") or (payload.get("repository") or {}).get("id")
    return head is not None and head != base


def allows(scopes: dict[str, str], scope: str, level: str) -> bool:
    return LEVELS[scopes.get(scope, "none")] >= LEVELS[level]


def lacking(scopes: dict[str, str], *needed: str) -> list[str]:
    """Of ``needed`` ("pages: write", ...), those the token lacks."""
    return [need for need in needed if not allows(scopes, *[p.strip() for p in need.split(":")])]


# The tokens of the jobs that ran, written by the driver for the stand-ins: {token: {"scopes", "job", "run"}}.
TOKENS_FILE = "tokens.json"


def token_of(state: Path, token: str) -> dict | None:
    try:
        return json.loads((state / TOKENS_FILE).read_text()).get(token)
    except (OSError, ValueError):
        return None


def basic_auth(token: str) -> str:
    """The header git sends GitHub a token in, as actions/checkout configures it."""
    return "AUTHORIZATION: basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


# -- artifacts across a run's attempts --------------------------------------------------------------------------------
# Without a token, download-artifact and deploy-pages use the runner's artifact service, which sees the current
# attempt only (download-artifact #486; MeshLib #6474: "workflow run not found" after "re-run failed jobs").
# With a token and a run id, the public API lists every attempt's artifacts; each attempt keeps its own copy of a
# name, and a download of that name may take the older copy (MeshWeaver #4303). The rehearsal takes the worst
# case: of two copies of one name, the oldest wins.


def visible(artifacts: list[dict], attempt: int, through_api: bool) -> list[dict]:
    """Of a run's artifacts (each with "attempt" and "id"), those a download sees, in the order it writes them
    (the last written wins a name)."""
    if not through_api:
        return sorted((a for a in artifacts if a["attempt"] == attempt), key=lambda a: a["id"])
    return sorted(artifacts, key=lambda a: (-a["attempt"], -a["id"]))


# -- caches ---------------------------------------------------------------------------------------------------------
# docs.github.com/actions/writing-workflows/choosing-what-your-workflow-does/caching-dependencies-to-speed-up-
# workflows#restrictions-for-accessing-a-cache: a run restores caches of its own ref, of the base branch (a pull
# request) and of the default branch; it saves under its own ref. A pull request's caches (refs/pull/N/merge)
# are its own; a branch's are not readable from its sibling branches.


def cache_refs(ref: str, base_ref: str, default_branch: str) -> list[str]:
    """The refs whose caches a run may restore, its own first."""
    found = [ref]
    for other in (f"refs/heads/{base_ref}" if base_ref else "", f"refs/heads/{default_branch}"):
        if other and other not in found:
            found.append(other)
    return found
