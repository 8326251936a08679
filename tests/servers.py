"""Real servers for the tests, each its own process on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import requests

REQUIRE_ENV = "IOTA_REQUIRE_INTEGRATION"


def require(condition: bool, reason: str) -> None:
    """Skip when an integration dependency is missing, but fail under the test script
    (IOTA_REQUIRE_INTEGRATION=1): there, a missing dependency is a broken set-up."""
    import pytest

    if condition:
        return
    if os.environ.get(REQUIRE_ENV):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this cannot be skipped)")
    pytest.skip(reason)


def stop_process(process: subprocess.Popen[Any], grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `grace` seconds."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_http(
    url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url} exited early: {log.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in {timeout} s: {log.read_text()[-2000:]}")


def moto_server_command() -> list[str]:
    executable = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    return [executable]


class MotoServer:
    """`moto_server` in its own process, recording requests so tests can read the headers
    that went over the wire (moto's ACL grants cannot tell bucket-owner-full-control)."""

    def __init__(self, workdir: Path, enforce_auth: bool = False, setup_requests: int = 0) -> None:
        """`enforce_auth`: IAM policies are enforced after the first `setup_requests`."""
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.recording = workdir / f"moto-{self.port}.jsonl"
        self.log = workdir / f"moto-{self.port}.log"
        env = dict(
            os.environ, MOTO_ENABLE_RECORDING="True", MOTO_RECORDER_FILEPATH=str(self.recording)
        )
        if enforce_auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(setup_requests)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*moto_server_command(), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        wait_for_http(f"{self.endpoint}/moto-api/", self.process, self.log)

    def client_env(self) -> dict[str, str]:
        """What a process needs to use this server through boto3's standard settings."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def s3(self) -> Any:
        return self.client("s3")

    def client(self, service: str, key_id: str = "testing", secret: str = "testing") -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            region_name=self.client_env()["AWS_REGION"],
        )

    def user_allowed(self, user: str, actions: list[str]) -> tuple[str, str]:
        """A new IAM user allowed `actions` on every resource, and its access key (id,
        secret); with enforce_auth this takes 3 of the server's setup requests."""
        iam = self.client("iam")
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        statement = {"Effect": "Allow", "Action": actions, "Resource": "*"}
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-policy", PolicyDocument=policy)
        return key["AccessKeyId"], key["SecretAccessKey"]

    def new_bucket(self, prefix: str) -> str:
        """A new bucket with a unique name; the recorder starts afresh after it."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.s3().create_bucket(Bucket=name)
        self.reset_recording()
        return name

    def reset_recording(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/recorder/reset-recording", timeout=10)
        requests.post(f"{self.endpoint}/moto-api/recorder/start-recording", timeout=10)

    def recorded(self) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.endpoint}/moto-api/recorder/download-recording", timeout=30)
        return [json.loads(line) for line in answer.text.splitlines() if line.strip()]

    def object_writes(self) -> list[dict[str, Any]]:
        """Recorded PutObject and CreateMultipartUpload requests (not UploadPart)."""
        writes = []
        for entry in self.recorded():
            path_and_query = entry["url"].split("://", 1)[1].split("/", 1)[-1]
            path, _, query = path_and_query.partition("?")
            is_object = "/" in path.strip("/")
            if entry["method"] == "PUT" and is_object and "partNumber" not in query:
                writes.append(entry | {"operation": "PutObject"})
            elif entry["method"] == "POST" and is_object and query.startswith("uploads"):
                writes.append(entry | {"operation": "CreateMultipartUpload"})
        return writes

    def stop(self) -> None:
        stop_process(self.process)


def header(entry: dict[str, Any], name: str) -> str | None:
    for key, value in entry["headers"].items():
        if key.lower() == name.lower():
            return str(value)
    return None


class FlakyS3Proxy:
    """Forwards to a real S3 endpoint, but answers the first `failures` object writes with
    503 SlowDown: moto never throttles, and the retry path needs a server that does."""

    def __init__(self, upstream: str, failures: int) -> None:
        import http.server
        import threading

        self.upstream = upstream
        self.remaining = failures
        self.refused = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if (
                    self.command in ("PUT", "POST")
                    and proxy.remaining > 0
                    and self.path.count("/") >= 2
                ):
                    proxy.remaining -= 1
                    proxy.refused += 1
                    payload = b"<Error><Code>SlowDown</Code><Message>Slow down</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.request(
                    self.command, proxy.upstream + self.path, headers=headers, data=body, timeout=60
                )
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
