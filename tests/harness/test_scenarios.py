"""Every scenario starts from its command line, answers the planet request correctly, and stops cleanly."""

from __future__ import annotations

import sys

import pytest

from benchmarks.harness import procstat, scenarios, verify
from benchmarks.harness.article import ARTICLE
from benchmarks.harness.launcher import Server
from benchmarks.harness.scenarios import AUTO_WORKERS, SCENARIOS, Scenario

PY = sys.executable


def test_ids_are_stable():
    assert list(SCENARIOS) == [
        "aiohttp-dev", "flask-dev", "aiohttp-gunicorn", "flask-gunicorn", "aiohttp-gunicorn-w4", "flask-gunicorn-w4",
        "flask-gunicorn-gthread", "aiohttp-gunicorn-uvloop", "aiohttp-gunicorn-wauto", "flask-gunicorn-wauto",
    ]
    assert Scenario("flask", "gunicorn", workers=4).id == "flask-gunicorn-w4"
    assert Scenario("aiohttp", "gunicorn", worker_class="sync").id == "aiohttp-gunicorn-sync"
    assert scenarios.get("flask-dev") == Scenario("flask", "dev")


def test_commands():
    argv = Scenario("aiohttp", "gunicorn", workers=AUTO_WORKERS).spec(python=PY).argv
    assert argv[:3] == (PY, "-m", "gunicorn")
    assert argv[argv.index("--workers") + 1] == str(scenarios.auto_workers())
    assert argv[argv.index("--worker-class") + 1] == "aiohttp.GunicornWebWorker"
    assert argv[-1] == "planet_tracker.aiohttp_app:create_app"
    assert "127.0.0.1:{port}" in argv
    gthread = SCENARIOS["flask-gunicorn-gthread"].spec(python=PY).argv
    assert gthread[gthread.index("--threads") + 1] == "4" and gthread[-1] == "planet_tracker.flask_app:create_app()"
    assert Scenario("flask", "dev").spec(python=PY).argv[:6] == (PY, "-m", "flask", "--app",
                                                                  "planet_tracker.flask_app", "run")


@pytest.mark.parametrize("bad", [
    dict(framework="django", server="dev"), dict(framework="flask", server="uwsgi"),
    dict(framework="flask", server="dev", workers=4),
])
def test_invalid(bad):
    with pytest.raises(ValueError):
        Scenario(**bad)


@pytest.mark.parametrize("scenario_id", list(SCENARIOS))
def test_every_scenario_serves(scenario_id):
    scenario = SCENARIOS[scenario_id]
    with Server(scenario.spec()) as server:
        answer = verify.check_target(server.port, ARTICLE.path)
        assert answer["name"] == "mars"
        pgid = server.pgid
    assert procstat.group_pids(pgid) == []


def test_the_harness_serves_the_factory_strings_the_subject_names():
    """The harness asks the subject for its factory strings (it may not import it); the default worker classes,
    which name the scenarios at import, are spelled on both sides and must agree."""
    from planet_tracker import cli as subject

    for scenario in scenarios.SCENARIOS.values():
        factory = subject.APPS[scenario.framework]
        argv = scenario.spec().argv
        assert factory in argv or (scenario.id == "flask-dev" and factory.split(":")[0] in argv), argv
    assert set(scenarios.FRAMEWORKS) == set(subject.APPS)
    assert scenarios.DEFAULT_WORKER_CLASS == subject.DEFAULT_WORKER_CLASS
