"""The command docs are the parser's: the README's command table and docs/cli.md name
every command of `monitor.cli.build_parser()` with its help line, docs/cli.md every
option, and neither names a command or option that does not exist."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import pytest

from monitor.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CLI_MD = ROOT / "docs" / "cli.md"


def commands(
    parser: argparse.ArgumentParser, prefix: str = "monitor"
) -> Iterator[tuple[str, str, argparse.ArgumentParser]]:
    """("monitor plugins new", help line, its parser) for every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", helps[name], sub
                yield from commands(sub, f"{prefix} {name}")


COMMANDS = {name: (help, sub) for name, help, sub in commands(build_parser())}


def options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string (`-c`, `--config`) and positional metavar (`NAME`) of a command."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        found.update(action.option_strings or [str(action.metavar or action.dest)])
    return found


def sections(text: str) -> dict[str, str]:
    """`## \\`monitor X\\`` headings -> their text."""
    parts = re.split(r"^## `(monitor[^`]*)`\s*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def documented_options(section: str) -> set[str]:
    """What the option table of a section names: the start of each code span of the
    first column (`-c FILE` -> -c, `PATH` -> PATH)."""
    found: set[str] = set()
    for row in re.findall(r"^\|(.*?)(?<!\\)\|", section, flags=re.M):
        for span in re.findall(r"`([^`]+)`", row):
            found.add(span.split()[0].replace("\\|", "|"))
    return found - {"option", "---"}


def readme_table() -> dict[str, str]:
    """The README's command table: command (its words before any argument) -> does."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## Commands", 1)[1].split("\n\n", 2)[1]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        words = list(takewhile(_WORD.fullmatch, cells[0].strip("`").split()))
        rows[" ".join(words)] = cells[1]
    return rows


_WORD = re.compile(r"[a-z][a-z-]*")


def test_the_parser_has_the_commands_the_issue_missed() -> None:
    assert {"monitor reload", "monitor test-alert", "monitor plugins new"} <= set(COMMANDS)


def test_readme_table_is_the_parser() -> None:
    rows = readme_table()
    assert sorted(rows) == sorted(COMMANDS), "README.md's command table and the parser differ"
    for name, (help, _) in COMMANDS.items():
        assert rows[name] == help, f"README.md: {name} should read {help!r}, not {rows[name]!r}"


def test_cli_reference_has_every_command_and_no_other() -> None:
    documented = sections(CLI_MD.read_text(encoding="utf-8"))
    assert sorted(documented) == sorted(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_cli_reference_section_matches_the_parser(command: str) -> None:
    help, parser = COMMANDS[command]
    section = sections(CLI_MD.read_text(encoding="utf-8"))[command]
    flat = " ".join(section.split()).lower()
    assert " ".join(help.split()).lower() in flat, f"docs/cli.md, {command}: no help line"
    assert documented_options(section) == options(parser), (
        f"docs/cli.md, {command}: documented options differ from the parser's"
    )
