"""The demo's servers, all on loopback: the collector (temporary SQLite, generated key), moto's server with
the resources the example functions use, an upstream "pricing" service, and a delay proxy that puts the
collector 3.5 ms away."""

from __future__ import annotations

import json
import logging
import secrets
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from zerolag.cli.demo_proxy import DelayProxy, measure_added_rtt

REGION = "us-east-1"
ORDERS_TABLE = "orders"
RECEIPTS_BUCKET = "receipts"
SECRET_NAME = "zerolag/api-key"  # noqa: S105 (a name)
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
BACKEND_RTT_MS = 3.5


class DemoError(RuntimeError):
    """A piece the demo needs is missing or failed to start; the message says which."""


class _Pricing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"price": 9.5, "currency": "EUR"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Stack:
    """What is running: URLs, the key, and the secret holding it."""

    collector: Any
    key: str
    db_path: Path
    moto_url: str
    pricing_url: str
    far_collector_url: str
    secret_arn: str
    measured_rtt_ms: float

    @property
    def collector_url(self) -> str:
        return str(self.collector.url)

    def aws_env(self) -> dict[str, str]:
        """What a function needs to reach moto's server as if it were AWS."""
        return {"AWS_ENDPOINT_URL": self.moto_url, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION} | dict(
            FAKE_CREDENTIALS
        )


def _start_collector(stack: ExitStack, db_path: Path, key: str) -> Any:
    try:
        from zerolag.collector import Collector, CollectorConfig
    except ImportError as exc:
        raise DemoError(f"the collector is not available ({exc})") from exc
    config = CollectorConfig(db_path=db_path, ingest_keys=frozenset({key}), port=0)
    return stack.enter_context(Collector(config))


def _start_moto(stack: ExitStack) -> str:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise DemoError("moto's server is not installed (pip install 'moto[server]', or make venv)") from exc
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    stack.callback(server.stop)
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def _seed_aws(moto_url: str, key: str) -> str:
    """Create the table, the bucket and the secret holding the collector key; return the secret's ARN."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )
    dynamodb = session.client("dynamodb", endpoint_url=moto_url)
    dynamodb.create_table(
        TableName=ORDERS_TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    session.client("s3", endpoint_url=moto_url).create_bucket(Bucket=RECEIPTS_BUCKET)
    secret = session.client("secretsmanager", endpoint_url=moto_url).create_secret(
        Name=SECRET_NAME, SecretString=key
    )
    return str(secret["ARN"])


def _start_pricing(stack: ExitStack) -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pricing)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="zerolag-demo-pricing", daemon=True)
    thread.start()
    stack.callback(server.server_close)
    stack.callback(server.shutdown)
    return f"http://127.0.0.1:{server.server_address[1]}/price"


def start_stack(stack: ExitStack, work_dir: Path) -> Stack:
    """Start every server (stopped when ``stack`` closes) and seed the fake AWS account."""
    key = "zl_demo_" + secrets.token_urlsafe(18)
    db_path = work_dir / "zerolag-demo.db"
    collector = _start_collector(stack, db_path, key)
    moto_url = _start_moto(stack)
    secret_arn = _seed_aws(moto_url, key)
    pricing_url = _start_pricing(stack)
    target = ("127.0.0.1", int(collector.port))
    proxy = stack.enter_context(DelayProxy(target, BACKEND_RTT_MS))
    measured = measure_added_rtt(proxy, target)
    return Stack(collector, key, db_path, moto_url, pricing_url, proxy.url, secret_arn, measured)
