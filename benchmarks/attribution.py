"""Attribution: a profile of each flagged counted benchmark's target, for each commit a comparison measures.

``make compare`` (and ``make profile``) run it, after the verdict, as ``asv run --dry-run --bench '^attribution\\.'``
with ``PLANET_TRACKER_ATTRIBUTE`` set to the flagged benchmarks' labels, or the channel's target ids
(``flask-dev``, ``core:parse_query``: ``make profile``), ";"-separated, and
``PLANET_TRACKER_ATTRIBUTE_DIR`` to a folder: asv installs each commit, with its own pins, and ``setup_cache``
writes ``<folder>/<commit>/<target>.json`` (``benchmarks.harness.attribution``). ``--dry-run`` keeps its value
out of the results. Without the variable, in every other run, its ``setup`` skips it: asv records NaN, which no
table shows.
"""

import json
import os
from pathlib import Path

from benchmarks import instructions
from benchmarks.harness import attribution, callgrind

LABELS, FOLDER = "PLANET_TRACKER_ATTRIBUTE", instructions.FOLDER


def file_name(target: str) -> str:
    return target.replace(":", "_") + ".json"


class Attribution:
    timeout = 1800.0

    def setup_cache(self):
        labels = [label for label in os.environ.get(LABELS, "").split(";") if label]
        if not labels:
            return 0  # not None: asv passes no cache at all then
        folder = Path(os.environ[FOLDER]) / os.environ["ASV_COMMIT"]
        folder.mkdir(parents=True, exist_ok=True)
        for label in labels:
            target = label if label in callgrind.all_ids() else instructions.target_of(label)
            if target is not None:
                data = attribution.profile(target, counted=instructions.counted_folder())
                (folder / file_name(target)).write_text(json.dumps({**data, "benchmark": label}))
        return len(labels)

    def setup(self, cache):
        if not cache:  # asv records a NotImplementedError in setup as skipped
            raise NotImplementedError(f"set {LABELS} to profile the benchmarks it names")

    def track_profiled(self, cache):
        return cache

    track_profiled.unit = "profiles"
