"""The local DynamoDB/S3 API server for the tests: moto, behind a layer that gives DynamoDB's
concurrency semantics back to it.

moto answers as DynamoDB does one request at a time, but its in-memory backends are not
thread-safe, and nothing in it ever conflicts: a serial emulator hides every race. This server
runs each request on its own thread and keeps moto itself to one request at a time, and in front
of it behaves as DynamoDB does under concurrency:

- A `TransactWriteItems` is in flight for `--transaction-ms` (default 15) before it takes effect;
  while it is, it holds its items. (It then waits for moto, which runs one request at a time;
  that wait holds nothing: on DynamoDB unrelated requests run side by side.) A transaction touching an item that another transaction or a
  single-item write holds is cancelled: `TransactionCanceledException` with the reason
  `TransactionConflict` at that item's position (`None` elsewhere).
- A `PutItem`, `UpdateItem` or `DeleteItem` is in flight for `--write-ms` (default 5) before it
  takes effect. One on an item an in-flight transaction holds fails with
  `TransactionConflictException`. Two single-item
  writes of one item do not conflict (DynamoDB serialises them).
- `ClientRequestToken`: a transaction repeated with a token that committed in the last 10 minutes
  is answered as the first one was, without running again; with other parameters it is
  `IdempotentParameterMismatchException`.
- Faults, per table, for tests: `POST /_double/faults` with `{"table": T,
  "lose_transaction_responses": N, "throttle": N}` makes the next N committed transactions answer
  500 (the commit stands: the response was lost, and the SDK retries with the same token) and
  the next N transactions answer `ThrottlingException`. `GET /_double/stats?table=T` counts the
  table's transactions: attempted, cancelled for a conflict, committed, replayed from a token,
  and the milliseconds moto spent on the table's requests.

Everything else (reads, queries, batches, S3) goes to moto unchanged.

Usage: python tests/moto_server.py HOST PORT [--transaction-ms MS] [--write-ms MS]
"""

import argparse
import hashlib
import io
import json
import threading
import time
import uuid
from http import HTTPStatus
from collections import Counter, defaultdict
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

TARGET_PREFIX = "DynamoDB_20120810."
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
TOKEN_WINDOW_SECONDS = 600
SINGLE_WRITES = ("PutItem", "UpdateItem", "DeleteItem")


def error(status, kind, message, **extra):
    body = json.dumps({"__type": ERROR_PREFIX + kind, "message": message, **extra}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))]
    return status, headers, body


class DynamoDouble:
    """WSGI middleware around moto's application (see the module documentation)."""

    def __init__(self, app, transaction_ms, write_ms):
        self.app = app
        self.transaction_seconds = transaction_ms / 1000
        self.write_seconds = write_ms / 1000
        self.moto = threading.Lock()
        self.state = threading.Lock()
        self.key_schemas = {}
        self.transactions = {}
        self.writes = {}
        self.tokens = {}
        self.faults = defaultdict(Counter)
        self.stats = defaultdict(Counter)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_double/"):
            status, headers, body = self.admin(environ, path)
        else:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith(TARGET_PREFIX):
                status, headers, body = self.dynamodb(environ, target[len(TARGET_PREFIX):], body)
            else:
                status, headers, body = self.forward(environ, body)
        if not any(name.lower() == "content-length" for name, _ in headers):
            headers = headers + [("Content-Length", str(len(body)))]
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    def forward(self, environ, body):
        """Runs the request on moto, alone."""
        with self.moto:
            return self.run_moto(environ, body)

    def run_moto(self, environ, body):
        """Runs the request on moto; the caller holds `self.moto`. Time spent in moto is counted
        per table (`moto_ms`): moto serves one request at a time, which bounds the latencies a
        burst sees here (DynamoDB runs unrelated requests side by side)."""
        started = time.monotonic()
        try:
            return self.run_moto_timed(environ, body)
        finally:
            table = environ.get("double.table")
            if table:
                with self.state:
                    self.stats[table]["moto_ms"] += round((time.monotonic() - started) * 1000)

    def run_moto_timed(self, environ, body):
        environ = dict(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        answer = {}

        def start_response(status, headers, exc_info=None):
            answer["status"] = int(status.split(" ", 1)[0])
            answer["headers"] = list(headers)

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return answer["status"], answer["headers"], data

    def dynamodb(self, environ, operation, body):
        request = json.loads(body or b"{}")
        tables = request.get("RequestItems") or {}
        actions = request.get("TransactItems") or []
        table = request.get("TableName") or next(iter(tables), None) or next(
            (next(iter(a.values())).get("TableName") for a in actions), None)
        environ["double.table"] = table
        if operation == "CreateTable":
            names = [k["AttributeName"] for k in request.get("KeySchema", [])]
            with self.state:
                self.key_schemas[request.get("TableName")] = names
        if operation == "TransactWriteItems":
            return self.transaction(environ, request, body)
        if operation in SINGLE_WRITES:
            return self.single_write(environ, request, body)
        return self.forward(environ, body)

    def item_key(self, table, action):
        item = action.get("Key") or action.get("Item") or {}
        names = self.key_schemas.get(table) or ["pk", "sk"]
        key = {name: item.get(name) for name in names}
        return table, json.dumps(key, sort_keys=True)

    def transaction(self, environ, request, body):
        actions = [next(iter(a.values())) for a in request.get("TransactItems", [])]
        tables = {a.get("TableName") for a in actions}
        table = next(iter(tables), None)
        keys = [self.item_key(a.get("TableName"), a) for a in actions]
        token = request.get("ClientRequestToken")
        digest = hashlib.sha256(body).hexdigest()
        owner = uuid.uuid4().hex
        with self.state:
            now = time.monotonic()
            for old in [t for t, saved in self.tokens.items() if saved[0] < now]:
                del self.tokens[old]
            self.stats[table]["attempted"] += 1
            if token in self.tokens:
                _, saved_digest, answer = self.tokens[token]
                if saved_digest != digest:
                        return error(400, "IdempotentParameterMismatchException",
                                 "The token was used with other parameters.")
                self.stats[table]["replayed"] += 1
                return answer
            if self.faults[table]["throttle"] > 0:
                self.faults[table]["throttle"] -= 1
                return error(400, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
            busy = [i for i, key in enumerate(keys) if self.held(key, now)]
            if busy:
                self.stats[table]["conflicts"] += 1
                reasons = [
                    {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                    if i in busy else {"Code": "None"}
                    for i in range(len(keys))
                ]
                codes = ", ".join(r["Code"] for r in reasons)
                return error(400, "TransactionCanceledException",
                             f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
                             CancellationReasons=reasons)
            for key in keys:
                self.transactions[key] = (owner, now + self.transaction_seconds)
        try:
            time.sleep(self.transaction_seconds)
            answer = self.forward(environ, body)
        finally:
            with self.state:
                for key in keys:
                    if self.transactions.get(key, (None,))[0] == owner:
                        del self.transactions[key]
        if answer[0] != 200:
            return answer
        with self.state:
            self.stats[table]["committed"] += 1
            if token:
                self.tokens[token] = (time.monotonic() + TOKEN_WINDOW_SECONDS, digest, answer)
            if self.faults[table]["lose_transaction_responses"] > 0:
                self.faults[table]["lose_transaction_responses"] -= 1
                return error(500, "InternalServerError", "The response was lost (test fault).")
        return answer

    def held(self, key, now):
        """Whether an in-flight write holds `key` (a hold lasts its write's in-flight time, not
        its wait for moto: on DynamoDB unrelated requests run side by side)."""
        held_by_transaction = self.transactions.get(key, (None, 0))[1] > now
        held_by_write = any(until > now for until in self.writes.get(key, []))
        return held_by_transaction or held_by_write

    def single_write(self, environ, request, body):
        table = request.get("TableName")
        key = self.item_key(table, request)
        with self.state:
            now = time.monotonic()
            if self.transactions.get(key, (None, 0))[1] > now:
                self.stats[table]["write_conflicts"] += 1
                return error(400, "TransactionConflictException", "Transaction is ongoing for the item")
            until = now + self.write_seconds
            self.writes.setdefault(key, []).append(until)
        try:
            time.sleep(self.write_seconds)
            return self.forward(environ, body)
        finally:
            with self.state:
                holds = self.writes.get(key, [])
                if until in holds:
                    holds.remove(until)
                if not holds:
                    self.writes.pop(key, None)

    def admin(self, environ, path):
        ok = [("Content-Type", "application/json")]
        if path == "/_double/faults" and environ["REQUEST_METHOD"] == "POST":
            request = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
            with self.state:
                faults = self.faults[request["table"]]
                for name in ("lose_transaction_responses", "throttle"):
                    faults[name] = int(request.get(name, faults[name]))
            return 200, ok, b"{}"
        if path == "/_double/stats":
            table = parse_qs(environ.get("QUERY_STRING", "")).get("table", [None])[0]
            with self.state:
                return 200, ok, json.dumps(dict(self.stats[table])).encode()
        return 404, ok, b'{"message": "no such double endpoint"}'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--transaction-ms", type=float, default=15)
    parser.add_argument("--write-ms", type=float, default=5)
    options = parser.parse_args()
    app = DynamoDouble(DomainDispatcherApplication(create_backend_app), options.transaction_ms, options.write_ms)
    run_simple(options.host, options.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
