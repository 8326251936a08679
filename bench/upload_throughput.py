"""Upload throughput to moto S3: `iota_container.storage.put` versus boto3 `upload_file`.

One large file (256 MiB; 64 MiB with --quick) goes up again and again, alternating:
iota's store (ACL bucket-owner-full-control, content type, multipart through
s3transfer) and plain `client.upload_file` without ACL. Each upload gets a fresh client
from the same factory (the environment-configured one the runtime uses), made outside
the timed part; the object is checked and deleted after each upload, also untimed.
Target: iota / boto3 throughput >= 0.9.

    python bench/upload_throughput.py [--quick] [--json] [--repetitions N]
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from _common import (
    BenchArgs,
    Measured,
    MotoServer,
    Samples,
    alternate,
    format_table,
    moto_server,
    parse_args,
    progress,
    report,
    seconds_text,
    temp_dir,
)

TARGET_RATIO = 0.9
BUCKET = "iota-bench-upload"
KEYS = {"iota storage.put": "bench/iota.bin", "boto3 upload_file": "bench/boto3.bin"}
MIB = 1024 * 1024
WRITE_CHUNK = 8 * MIB


def make_file(path: Path, size: int) -> Path:
    """Random bytes, so nothing on the way can shortcut the content."""
    with path.open("wb") as out:
        for offset in range(0, size, WRITE_CHUNK):
            out.write(os.urandom(min(WRITE_CHUNK, size - offset)))
    return path


def fresh_client() -> Any:
    from iota_container.storage.s3 import default_s3_client

    return default_s3_client()


def iota_side(path: Path, key: str) -> Any:
    from iota_container import storage
    from iota_container.storage.s3 import S3Store

    def run() -> Measured:
        client = fresh_client()
        storage.register_store("s3", lambda: S3Store(client))
        started = time.perf_counter()
        storage.put(path, f"s3://{BUCKET}/{key}")
        return Measured(time.perf_counter() - started)

    return run


def boto3_side(path: Path, key: str) -> Any:
    def run() -> Measured:
        client = fresh_client()
        started = time.perf_counter()
        client.upload_file(str(path), BUCKET, key)
        return Measured(time.perf_counter() - started)

    return run


def check_and_delete(server: MotoServer, size: int) -> Any:
    """After each upload: the object is whole (a side that skipped work would look fast);
    then it goes, so the server's memory and disk stay flat."""
    client = server.s3_client()

    def run() -> None:
        for key in KEYS.values():
            try:
                length = client.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
            except client.exceptions.ClientError:
                continue
            if length != size:
                raise SystemExit(f"bench: s3://{BUCKET}/{key} has {length} bytes, not {size}")
            client.delete_object(Bucket=BUCKET, Key=key)

    return run


def megabytes_per_second(size: int, seconds: float) -> float:
    return size / 1e6 / seconds


def throughput_table(samples: dict[str, Samples], size: int) -> str:
    rows: list[list[object]] = [
        [
            name,
            f"{megabytes_per_second(size, s.median):.0f}",
            f"{megabytes_per_second(size, s.best):.0f}",
            seconds_text(s.median),
        ]
        for name, s in samples.items()
    ]
    iota, plain = samples["iota storage.put"], samples["boto3 upload_file"]
    rows.append(
        [
            "ratio iota / boto3",
            f"{plain.median / iota.median:.2f}",
            f"{plain.best / iota.best:.2f}",
            "",
        ]
    )
    headers = ["upload (MB = 10^6 bytes)", "median MB/s", "best MB/s", "median time"]
    return format_table(headers, rows)


def build_report(samples: dict[str, Samples], size: int, args: BenchArgs) -> None:
    iota, plain = samples["iota storage.put"], samples["boto3 upload_file"]
    ratio = plain.median / iota.median
    verdict = "met" if ratio >= TARGET_RATIO else "not met"
    text = "\n\n".join(
        [
            f"file: {size // MIB} MiB of random bytes, to moto_server over loopback",
            throughput_table(samples, size),
            f"target: median throughput ratio >= {TARGET_RATIO} ({verdict})",
        ]
    )
    document = {
        "file_bytes": size,
        "target_ratio": TARGET_RATIO,
        "ratio_median": ratio,
        "ratio_min": plain.best / iota.best,
        "sides": {
            name: s.to_json() | {"median_mb_s": megabytes_per_second(size, s.median)}
            for name, s in samples.items()
        },
    }
    report("iota_container.storage.put vs boto3 upload_file", text, document, args)


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], repetitions=5, quick_repetitions=3)
    size = (64 if args.quick else 256) * MIB
    with temp_dir("upload") as workdir, moto_server(workdir) as server:
        server.create_bucket(BUCKET)
        os.environ.update(server.client_env())
        progress(f"writing a {size // MIB} MiB file; moto at {server.endpoint}")
        path = make_file(workdir / "payload.bin", size)
        sides = {
            "iota storage.put": iota_side(path, KEYS["iota storage.put"]),
            "boto3 upload_file": boto3_side(path, KEYS["boto3 upload_file"]),
        }
        samples = alternate(sides, args.repetitions, between=check_and_delete(server, size))
    build_report(samples, size, args)


if __name__ == "__main__":
    main()
