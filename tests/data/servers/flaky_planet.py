"""A stand-in server for the harness tests: answers /healthz and the planet request correctly a few times, then
500s, as a server that breaks under load would. Standard library only; run by path with --port and --good N."""

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = json.dumps({"name": "mars", "alt": 10.0, "az": 20.0}).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--good", type=int, default=3, help="planet requests answered correctly before the 500s")
    args = parser.parse_args()
    remaining = [args.good]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if self.path == "/healthz" or remaining[0] > 0:
                if self.path != "/healthz":
                    remaining[0] -= 1
                status, body = 200, ANSWER
            else:
                status, body = 500, b'{"error":"broken"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
