"""Every command explains itself: each option has help text, and no summary in a command
listing is cut mid-phrase (click shortens a docstring's first sentence to fit unless the
command gives `short_help`)."""

from __future__ import annotations

from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from iota_container.cli import main

HELP_WIDTH = 80


def walk(command: click.Command, path: tuple[str, ...]) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        context = click.Context(command, info_name=path[-1])
        for name in command.list_commands(context):
            subcommand = command.get_command(context, name)
            assert subcommand is not None, f"{' '.join(path)} lists {name} but has no such command"
            yield from walk(subcommand, (*path, name))


COMMANDS = dict(walk(main, ("iota-container",)))
SUBCOMMANDS = {path: command for path, command in COMMANDS.items() if command is not main}
GROUPS = {path: command for path, command in COMMANDS.items() if isinstance(command, click.Group)}


def test_the_walk_reaches_every_command_group_and_subcommand() -> None:
    # A walk that stopped at the top level would pass the tests below without checking.
    for path in ("run", "params init", "image inspect", "dataset run", "greengrass recipe"):
        assert f"iota-container {path}" in COMMANDS
    assert len(SUBCOMMANDS) > 20


@pytest.mark.parametrize("path", sorted(COMMANDS))
def test_every_option_has_help_text(path: str) -> None:
    options = [p for p in COMMANDS[path].params if isinstance(p, click.Option)]
    without_help = [option.opts[0] for option in options if not (option.help or "").strip()]
    assert without_help == [], f"`{path}`: options without help text: {without_help}"


@pytest.mark.parametrize("path", sorted(SUBCOMMANDS))
def test_summary_is_not_cut_mid_phrase(path: str) -> None:
    # 45 is click's own default limit; a listing gives less room on a narrow terminal.
    summary = SUBCOMMANDS[path].get_short_help_str(limit=45)
    assert summary, f"`{path}` has no summary for its group's listing"
    assert not summary.endswith("..."), (
        f"`{path}`'s summary is cut: {summary!r}; give the command a short_help"
    )


def listed_summaries(help_text: str) -> list[str]:
    lines = help_text.splitlines()
    start = lines.index("Commands:") + 1
    return [line.strip() for line in lines[start:] if line.startswith("  ")]


@pytest.mark.parametrize("path", sorted(GROUPS))
def test_group_help_lists_whole_summaries(path: str) -> None:
    arguments = [*path.split()[1:], "--help"]
    result = CliRunner().invoke(main, arguments, terminal_width=HELP_WIDTH)
    assert result.exit_code == 0, result.output
    rows = listed_summaries(result.output)
    assert rows, result.output
    cut = [row for row in rows if row.endswith("...")]
    assert cut == [], f"`{path} --help` cuts summaries:\n" + "\n".join(cut)
