"""Every scenario starts from its command line, answers the planet request correctly, and stops cleanly."""

from __future__ import annotations

import pytest

from benchmarks.harness import procstat, scenarios, verify
from benchmarks.harness.launcher import Server
from benchmarks.harness.runner import PLANET_PATH
from benchmarks.harness.scenarios import AUTO_WORKERS, SCENARIOS, Scenario


def test_ids_are_stable():
    assert list(SCENARIOS) == [
        "aiohttp-dev", "flask-dev", "aiohttp-gunicorn", "flask-gunicorn", "aiohttp-gunicorn-w4", "flask-gunicorn-w4",
        "flask-gunicorn-gthread", "aiohttp-gunicorn-uvloop", "aiohttp-gunicorn-wauto", "flask-gunicorn-wauto",
    ]
    assert Scenario("flask", "gunicorn", workers=4).id == "flask-gunicorn-w4"
    assert Scenario("aiohttp", "gunicorn", worker_class="sync").id == "aiohttp-gunicorn-sync"
    assert scenarios.get("flask-dev") == Scenario("flask", "dev")


def test_commands():
    argv = Scenario("aiohttp", "gunicorn", workers=AUTO_WORKERS).spec(python="py").argv
    assert argv[:3] == ("py", "-m", "gunicorn")
    assert argv[argv.index("--workers") + 1] == str(scenarios.auto_workers())
    assert argv[argv.index("--worker-class") + 1] == "aiohttp.GunicornWebWorker"
    assert argv[-1] == "planet_tracker.aiohttp_app:create_app"
    assert "127.0.0.1:{port}" in argv
    gthread = SCENARIOS["flask-gunicorn-gthread"].spec(python="py").argv
    assert gthread[gthread.index("--threads") + 1] == "4" and gthread[-1] == "planet_tracker.flask_app:create_app()"
    assert Scenario("flask", "dev").spec(python="py").argv[:6] == ("py", "-m", "flask", "--app",
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
        answer = verify.check_target(server.port, PLANET_PATH)
        assert answer["name"] == "mars"
        pgid = server.pgid
    assert procstat.group_pids(pgid) == []


def test_the_subject_and_the_harness_agree_on_the_factory_strings():
    """The app's own command line and the harness each name the factories (neither may import the other): the
    strings and the default worker classes must be the same."""
    from planet_tracker import cli as subject

    assert scenarios.FACTORIES == subject.APPS
    assert scenarios.DEFAULT_WORKER_CLASS == subject.DEFAULT_WORKER_CLASS
