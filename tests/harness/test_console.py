from __future__ import annotations

from benchmarks.harness import console
from benchmarks.harness.loadgen.base import LoadResult
from benchmarks.harness.results import ClientRun, Sample, ServerRun


def server_run(scenario_id: str, rates: list[float]) -> ServerRun:
    samples = tuple(Sample(LoadResult("ab", "2.3", ("ab",), int(rate), 1.0, rate, 0, {}, 0, None,
                                      {"50": 1.0, "90": 2.0, "99": 3.0, "mean": 1.0}, 0.1),
                           0.5, (0.5,), (0.5,), 20, 0.0, 0.0, False, 40 * 2**20) for rate in rates)
    return ServerRun({"id": scenario_id}, {}, "ok", ready_s=0.2, samples=samples)


def test_article_table_uses_the_articles_definitions():
    runs = [server_run("aiohttp-dev", [3000] * 3), server_run("flask-dev", [1000] * 3),
            server_run("aiohttp-gunicorn", [3300] * 3), server_run("flask-gunicorn", [2000] * 3),
            ServerRun({"id": "flask-gunicorn-w4"}, {}, "failed", reason="boom")]
    text = console.article_server_table(runs)
    dev = next(line for line in text.splitlines() if line.startswith("| Development server"))
    assert "3,000 ± 0.0 %" in dev and "+200.0 %" in dev and "+180.2 %" in dev  # ours, and the article's 180.24
    increase = next(line for line in text.splitlines() if "% increase" in line)
    assert "+10.0 %" in increase and "+100.0 %" in increase and "+18.4 %" in increase
    w4 = next(line for line in text.splitlines() if line.startswith("| gunicorn -w 4"))
    assert "not run" in w4 and "FAILED" in w4


def test_client_table():
    settings = {"requests": 100, "delay_ms": 100.0}
    runs = [ClientRun("requests-sequential", "requests", 1, 10.0, settings, "ok", wall_s=(10.5, 10.4, 10.6)),
            ClientRun("aiohttp-gather", "aiohttp", 100, 0.1, settings, "ok", wall_s=(0.2, 0.2, 0.2)),
            ClientRun("threadpool", "requests", 100, 0.1, settings, "failed", reason="GET failed")]
    lines = console.client_table(runs).splitlines()
    gather = next(line for line in lines if "aiohttp-gather" in line)
    assert "0.200" in gather and "50 %" in gather and "52.5x" in gather and "1.277" in gather
    assert "FAILED: GET failed" in next(line for line in lines if "threadpool" in line)
