"""A stand-in server that fails every request: GET /healthz answers 200, any other GET answers 500.

    python answer500.py PORT

The aiohttp app under a plain sync gunicorn worker also answers 500, but to /healthz as well, so the harness
launcher (which hands a server over once /healthz answers 200) cannot start it; this plays its part for the
load generator captures and tests. It keeps connections alive as HTTP/1.1 does, and for ab's HTTP/1.0 requests
when they ask for it.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else the body waits 40 ms for the ACK of the headers (Nagle + delayed ACK)

    def do_GET(self) -> None:
        healthy = self.path == "/healthz"
        body = b'{"status": "ok"}' if healthy else b'{"error": "internal server error"}'
        self.send_response(200 if healthy else 500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if not self.close_connection:
            # ab reuses a connection only when the answer's headers say Keep-Alive.
            self.send_header("Connection", "keep-alive")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
