"""The local DynamoDB/S3 API server for the tests: moto, served by one thread.

moto's own `moto_server` serves each request on its own thread, and its in-memory backends are
not thread-safe: concurrent transactions intermittently fail with 500 ("dictionary changed size
during iteration"). Served by one thread, concurrent clients still race with each other
(conditions, transactions, cancellations behave as on AWS), but each request runs alone.

Usage: python tests/moto_server.py HOST PORT
"""

import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
