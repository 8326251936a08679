"""Debian's docker-registry (distribution 2.8) as a real OCI registry for tests: plain
HTTP on loopback, or basic auth (htpasswd) behind TLS with a self-signed certificate."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.servers import free_port, stop_process


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    key: Path


def make_self_signed_certificate(folder: Path, hostnames: list[str]) -> TlsFiles:
    """A certificate for `hostnames` (and 127.0.0.1), signed by itself; clients trust it
    through a CA bundle pointing at it."""
    folder.mkdir(parents=True, exist_ok=True)
    certificate, key = folder / "registry.crt", folder / "registry.key"
    alt_names = ",".join([*(f"DNS:{h}" for h in hostnames), "IP:127.0.0.1"])
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(certificate),
            "-subj",
            f"/CN={hostnames[0]}",
            "-addext",
            f"subjectAltName={alt_names}",
        ],
        check=True,
        capture_output=True,
    )
    return TlsFiles(certificate, key)


class RegistryServer:
    """One `docker-registry serve` process with its own storage folder."""

    def __init__(
        self,
        workdir: Path,
        users: dict[str, str] | None = None,
        tls: TlsFiles | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        executable = shutil.which("docker-registry")
        if executable is None:
            raise FileNotFoundError(
                "docker-registry is not installed (apt-get install docker-registry)"
            )
        self.port = port or free_port()
        self.tls = tls
        self.users = users or {}
        scheme = "https" if tls else "http"
        self.address = f"127.0.0.1:{self.port}"  # what image references name
        self.url = f"{scheme}://{self.address}"
        workdir.mkdir(parents=True, exist_ok=True)
        config = workdir / f"registry-{self.port}.yml"
        self.log = workdir / f"registry-{self.port}.log"
        config.write_text(self._config(workdir, host))
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [executable, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait()

    def _config(self, workdir: Path, host: str) -> str:
        # JSON is YAML: the registry reads it as its configuration file.
        http: dict[str, object] = {"addr": f"{host}:{self.port}"}
        if self.tls:
            http["tls"] = {"certificate": str(self.tls.certificate), "key": str(self.tls.key)}
        config: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {
                "filesystem": {"rootdirectory": str(workdir / f"storage-{self.port}")},
                "delete": {"enabled": True},
            },
            "http": http,
        }
        if self.users:
            htpasswd = workdir / f"htpasswd-{self.port}"
            for index, (user, password) in enumerate(self.users.items()):
                flags = "-Bbc" if index == 0 else "-Bb"
                subprocess.run(
                    ["htpasswd", flags, str(htpasswd), user, password],
                    check=True,
                    capture_output=True,
                )
            config["auth"] = {"htpasswd": {"realm": "iota-test", "path": str(htpasswd)}}
        return json.dumps(config)

    def _wait(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        verify: str | bool = str(self.tls.certificate) if self.tls else True
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/v2/", timeout=1, verify=verify)
                return
            except (requests.ConnectionError, ssl.SSLError):
                time.sleep(0.1)
        raise RuntimeError(
            f"docker-registry did not answer on {self.url}: {self.log.read_text()[-2000:]}"
        )

    def stop(self) -> None:
        stop_process(self.process)
