"""The Flask adapter: routes and error mapping over planet_tracker.core, nothing else.

``create_app`` is found by ``flask --app planet_tracker.flask_app run`` and called by
``gunicorn 'planet_tracker.flask_app:create_app()'``. Configuration: defaults, then ``FLASK_*`` environment
variables (``FLASK_ACCESS_LOG=1``), then the ``config`` mapping passed in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from . import core
from .errors import PlanetTrackerError
from .page import PAGE_CONTENT_TYPE, page_bytes

JSON = "application/json"


def planet(name: str) -> Response:
    try:
        query = core.parse_query(name, request.args.items(multi=True))
    except PlanetTrackerError as error:
        return Response(core.error_body(error), status=error.status, mimetype=JSON)
    if query.io_ms:
        time.sleep(query.io_ms / 1000)  # stands in for a downstream call: blocks this worker thread
    return Response(core.position_body(query), mimetype=JSON)


def healthz() -> Response:
    return Response(core.HEALTH_BODY, mimetype=JSON)


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response = Response(core.status_body(status), status=status, mimetype=JSON)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = core.allow_header(error.valid_methods)
    return response


def internal_error(error: Exception) -> Response:
    # Flask has already logged the traceback; the client gets no trace of it.
    return Response(core.status_body(500), status=500, mimetype=JSON)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask application."""
    app = Flask(__name__, static_folder=None)
    app.config.from_mapping(ACCESS_LOG=False)
    app.config.from_prefixed_env()
    if config:
        app.config.update(config)
    if not app.config["ACCESS_LOG"]:
        # Werkzeug's development server logs each request at INFO on this logger.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    page = page_bytes()

    def index() -> Response:
        return Response(page, content_type=PAGE_CONTENT_TYPE)

    # No automatic OPTIONS: aiohttp has none, and the twins must answer alike (405).
    for rule, view in (("/", index), ("/healthz", healthz), ("/planets/<name>", planet)):
        app.add_url_rule(rule, view.__name__, view, methods=["GET"], provide_automatic_options=False)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, internal_error)
    return app
