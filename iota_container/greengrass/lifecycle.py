"""The lifecycle scripts of a recipe that runs an analysis image: write the params file from
the component configuration, run the container, stop it on shutdown, clean up on recovery.

The params document lives in the component configuration (`/Params`), so a deployment's
configuration update changes a run's variables and outputs without a new component
version. The nucleus interpolates `{configuration:/Params}` as the object's JSON text; a
quoted here-document writes that text to a file without the shell reading any of it.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from iota_container.params_file import DEFAULT_PARAMS_PATH

PARAMS_KEY = "Params"
INTERVAL_KEY = "RunIntervalSeconds"
RUN_ID_TOKEN = "@RUN_ID@"
STREAM_MANAGER = "aws.greengrass.StreamManager"
SOCKET_VARIABLE = "$AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"
_HEREDOC_END = "IOTA_PARAMS_JSON"
# Shutdown leaves this file so that a Run loop between two runs starts no other container.
_STOP_MARKER = '"{work:path}/stopping"'


@dataclass(frozen=True)
class ContainerOptions:
    """What `docker run` needs on the device, beyond the image."""

    image: str
    container_name: str
    token_exchange: bool = False
    ipc: bool = False
    stream_manager: bool = False
    env: Sequence[tuple[str, str | None]] = ()
    output_dirs: Sequence[str] = ()


def docker_run_arguments(options: ContainerOptions) -> list[str]:
    """The `docker run` words, already quoted for the shell (variables stay expandable)."""
    words = ["docker", "run", "--rm", "--name", shlex.quote(options.container_name)]
    if options.token_exchange or options.stream_manager:
        # The token exchange service and stream manager listen on the host's loopback.
        words.append("--network=host")
    if options.token_exchange:
        words += ["-e", "AWS_REGION", "-e", "AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    if options.token_exchange or options.stream_manager:
        words += ["-e", "AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    if options.ipc:
        words += ["-v", f'"{SOCKET_VARIABLE}:{SOCKET_VARIABLE}"']
        words += ["-e", "SVCUID", "-e", "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"]
    if options.stream_manager:
        for key in ("STREAM_MANAGER_SERVER_PORT", "STREAM_MANAGER_AUTHENTICATE_CLIENT"):
            words += ["-e", f"{key}={{{STREAM_MANAGER}:configuration:/{key}}}"]
    for directory in options.output_dirs:
        words += ["-v", shlex.quote(f"{directory}:{directory}")]
    for name, value in options.env:
        words += ["-e", shlex.quote(name if value is None else f"{name}={value}")]
    words += ["-v", f'"$params:{DEFAULT_PARAMS_PATH}:ro"', shlex.quote(options.image)]
    return words


def _command_lines(words: list[str], indent: str = "") -> str:
    """`docker run` over several lines: one option (with its value) a line."""
    lines: list[str] = [" ".join(words[:5])]
    index = 5
    while index < len(words) - 1:
        take = 2 if words[index] in ("-e", "-v", "--name") else 1
        lines.append(" ".join(words[index : index + take]))
        index += take
    lines.append(words[-1])
    return (" \\\n" + indent + "  ").join(lines)


def _write_params(indent: str) -> str:
    lines = [
        'params="{work:path}/params.json"',
        f"cat > \"$params.tmp\" <<'{_HEREDOC_END}'",
        f"{{configuration:/{PARAMS_KEY}}}",
        _HEREDOC_END,
        f'sed "s/{RUN_ID_TOKEN}/$(date -u +%Y%m%dT%H%M%SZ)/g" "$params.tmp" > "$params"',
        'chmod 644 "$params"',
    ]
    # A here-document's end marker must start its line: no indent for it or its body.
    return "\n".join(
        line if line.startswith(("{configuration", _HEREDOC_END)) else indent + line
        for line in lines
    )


def _remove_stale(name: str, indent: str) -> str:
    return f"{indent}docker rm -f {shlex.quote(name)} >/dev/null 2>&1 || true"


def run_script(options: ContainerOptions, interval: bool) -> str:
    """The Run step: once (the component then FINISHES), or every `RunIntervalSeconds`."""
    words = docker_run_arguments(options)
    if not interval:
        return "\n".join(
            [
                "set -eu",
                _write_params(""),
                _remove_stale(options.container_name, ""),
                "exec " + _command_lines(words),
                "",
            ]
        )
    pause = f"{{configuration:/{INTERVAL_KEY}}}"
    return "\n".join(
        [
            "set -u",
            f"rm -f {_STOP_MARKER}",
            f"while [ ! -e {_STOP_MARKER} ]; do",
            _write_params("  "),
            _remove_stale(options.container_name, "  "),
            "  status=0",
            "  " + _command_lines(words, "  ") + " || status=$?",
            f'  echo "iota-container: run ended with exit code $status; next in {pause} s" >&2',
            f"  [ -e {_STOP_MARKER} ] || sleep {pause}",
            "done",
            "",
        ]
    )


def load_script(archive_name: str) -> str:
    """The Install step of an image shipped as an S3 artifact (a `docker save` tarball)."""
    return f"docker load -i {{artifacts:path}}/{shlex.quote(archive_name)}"


def stop_script(name: str) -> str:
    """The Shutdown step: end a Run loop, and stop the container the Run step started."""
    return (
        f"touch {_STOP_MARKER}; docker stop --time 20 {shlex.quote(name)} >/dev/null 2>&1 || true"
    )


def recover_script(name: str) -> str:
    """The Recover step: remove what a failed run left, so that the next one can start."""
    return _remove_stale(name, "")
