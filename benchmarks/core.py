"""The core computation, one planet at a time: what one request costs before any framework or server.

The only benchmarks that import the subject: they time ``planet_tracker.core`` as built at each commit.
"""

from urllib.parse import parse_qsl, urlsplit

from benchmarks.harness.article import ARTICLE
from planet_tracker import core

# The article's query at the article's instant, as the instructions channel counts it.
ARTICLE_QUERY = parse_qsl(urlsplit(ARTICLE.fixed_path).query)


class CoreBenchmark:
    """Many short rounds: each round is a new process, and on this kind of machine processes differ by up to
    ~10 % (memory layout, hash seed, which core), more than the samples within one. Four rounds per commit,
    interleaved between commits by ``asv run --interleave-rounds``, keep that from passing for a change (the
    instructions channel counts these functions exactly: these timings are the wall-clock view of them)."""

    rounds = 4
    repeat = (3, 5, 1.0)


class Query(CoreBenchmark):
    """Validating the article's query (the same work whatever the planet)."""

    def time_parse_query(self):
        core.parse_query("mars", ARTICLE_QUERY)


# Built at import, not in setup(): with a setup hook asv times every call on its own (number = 1), far too
# coarse for a call of ~20 µs; without one it times batches of calls.
QUERIES = {planet: core.parse_query(planet, ARTICLE_QUERY) for planet in core.PLANETS}


class Position(CoreBenchmark):
    """Computing and encoding the answer, as the handler does, for each planet."""

    params = [list(core.PLANETS)]
    param_names = ["planet"]

    def time_position_body(self, planet):
        core.position_body(QUERIES[planet])
