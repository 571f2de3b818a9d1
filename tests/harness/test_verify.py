from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks.harness import verify
from benchmarks.harness.errors import VerificationFailed
from benchmarks.harness.loadgen.base import LoadResult

GOOD = {"name": "mars", "alt": 12.5, "az": 200.0}


@pytest.fixture
def answer():
    """A server whose one answer the test sets: (status, content type, body)."""
    reply = {"value": (200, "application/json", json.dumps(GOOD).encode())}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, content_type, body = reply["value"]
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def set_reply(status=200, content_type="application/json", body=None):
        reply["value"] = (status, content_type, json.dumps(GOOD).encode() if body is None else body)
        return server.server_address[1]

    yield set_reply
    server.shutdown()
    server.server_close()


def test_good_answer(answer):
    assert verify.check_target(answer(), "/planets/Mars?lon=1") == GOOD


@pytest.mark.parametrize("reply,message", [
    (dict(status=500, body=b'{"error":"x"}'), "answered 500, not 200"),
    (dict(content_type="text/html"), "not application/json"),
    (dict(body=b"not json"), "not JSON"),
    (dict(body=json.dumps({**GOOD, "name": "venus"}).encode()), "no name 'mars'"),
    (dict(body=json.dumps({**GOOD, "alt": 91}).encode()), "alt=91"),
    (dict(body=json.dumps({**GOOD, "az": "north"}).encode()), "az='north'"),
    (dict(body=json.dumps([1, 2]).encode()), "no name"),
])
def test_bad_answers(answer, reply, message):
    with pytest.raises(VerificationFailed, match=message):
        verify.check_target(answer(**reply), "/planets/mars")


def test_nothing_listening():
    with pytest.raises(VerificationFailed, match="failed"):
        verify.check_target(1, "/planets/mars")


def result(**fields) -> LoadResult:
    base = dict(generator="wrk", version="4", argv=("wrk",), completed=100, duration_s=1.0, requests_per_s=100.0,
                non_2xx=0, socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0}, failed=0,
                keepalive_requests=None, latency_ms={"50": 1.0, "90": 2.0, "99": 3.0, "mean": 1.2})
    return LoadResult(**{**base, **fields})


def test_check_load():
    assert verify.check_load(result()) is None
    assert verify.check_load(result(non_2xx=3)) == "3 non-2xx responses"
    assert verify.check_load(result(socket_errors={"connect": 0, "timeout": 2, "read": 1})) == \
        "socket errors read 1, timeout 2"
    assert verify.check_load(result(completed=0)) == "no response completed"
