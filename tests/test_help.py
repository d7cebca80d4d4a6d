"""Every help text of the ``phyper`` command, generated from the parser: each option explained
with its default, every command listed at the top, no reST markup."""

from __future__ import annotations

import argparse

import pytest

from phyper._help import sub_parsers
from phyper.cli import build_parser

PARSER = build_parser()
COMMANDS = sub_parsers(PARSER)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_top_level_help_lists_every_command():
    text = _one_line(PARSER.format_help())
    assert {"study ls", "study show", "decide", "runs", "status", "gc"} <= set(COMMANDS)
    for name in COMMANDS:
        if any(other.startswith(name + " ") for other in COMMANDS):
            continue  # a group such as 'study': its commands are listed
        assert f"phyper {name} " in text or text.endswith(f"phyper {name}"), name
    assert "[--study NAME]" in text  # decide --study


@pytest.mark.parametrize("name", ["", *COMMANDS])
def test_no_help_text_has_rest_backticks(name):
    command = COMMANDS[name] if name else PARSER
    assert "`" not in command.format_help(), name


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_is_explained_with_its_default(name):
    command = COMMANDS[name]
    text = _one_line(command.format_help())
    for action in command._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"phyper {name}: {label} has no help text"
        default = action.default
        flag = action.nargs == 0  # --go, --wide: no value, no default to tell
        if default not in (None, argparse.SUPPRESS) and action.option_strings and not flag:
            assert f"(default: {default})" in text or "default" in action.help, (
                f"phyper {name}: {label}'s help does not give its default {default!r}"
            )
