"""Docker's token authentication for tests: a small token service issuing RS256 JWTs, and a
docker-registry (`auth: token`) that verifies them against the service's certificate. The
registry's own token checks (issuer, audience, expiry, signature, certificate chain) run on
real tokens."""

from __future__ import annotations

import base64
import datetime
import http.server
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.registry import RegistryServer

SERVICE = "iota-test-registry"
ISSUER = "iota-test-token-issuer"
REFRESH_TOKEN = "iota-test-refresh-token"  # what an identity token from `docker login` is


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """GET /token with basic auth (or anonymously), or POST /token with a refresh token.
    Users get the actions they ask for; anonymous callers get `pull` only; a wrong password
    gets 401. Each request's user and scopes are kept in `requests`."""

    def __init__(self, folder: Path, users: dict[str, str]) -> None:
        self.users = users
        self.requests: list[dict[str, Any]] = []
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.certificate = folder / "token-signer.crt"
        self._cert = self._self_signed()
        self.certificate.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _self_signed(self) -> x509.Certificate:
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )

    def issue(self, subject: str, access: list[dict[str, Any]]) -> str:
        der = self._cert.public_bytes(serialization.Encoding.DER)
        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": subject,
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(signature)}"

    def grant(self, user: str | None, scopes: list[str]) -> list[dict[str, Any]]:
        access = []
        for scope in scopes:
            kind, name, actions = scope.split(":", 2) if scope.count(":") >= 2 else ("", "", "")
            wanted = actions.split(",")
            allowed = wanted if user else [a for a in wanted if a == "pull"]
            access.append({"type": kind, "name": name, "actions": allowed})
        return access

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                known, user = self._basic_user()
                if not known:
                    return self._answer(401, {"details": "wrong user name or password"})
                scopes = [s for value in query.get("scope", []) for s in value.split()]
                self._token(user, scopes)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if form.get("refresh_token") != [REFRESH_TOKEN]:
                    return self._answer(401, {"error": "invalid_grant"})
                self._token("refresh-user", form.get("scope", [""])[0].split())

            def _basic_user(self) -> tuple[bool, str | None]:
                """(accepted, user name); an anonymous caller is accepted as None."""
                header = self.headers.get("Authorization", "")
                if not header.startswith("Basic "):
                    return True, None
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                return server.users.get(user) == password, user

            def _token(self, user: str | None, scopes: list[str]) -> None:
                server.requests.append({"user": user, "scopes": scopes, "method": self.command})
                token = server.issue(user or "", server.grant(user, scopes))
                self._answer(200, {"token": token, "access_token": token, "expires_in": 300})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


class TokenRegistryServer(RegistryServer):
    """A docker-registry that accepts only tokens of `token_server`."""

    def __init__(self, workdir: Path, token_server: TokenServer) -> None:
        self.token_server = token_server
        super().__init__(workdir)

    def _config(self, workdir: Path, host: str) -> str:
        config = json.loads(super()._config(workdir, host))
        config["auth"] = {
            "token": {
                "realm": self.token_server.realm,
                "service": SERVICE,
                "issuer": ISSUER,
                "rootcertbundle": str(self.token_server.certificate),
            }
        }
        return json.dumps(config)
