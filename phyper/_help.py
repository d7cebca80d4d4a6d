"""Help texts of the ``phyper`` command: every option's help ends with its default, and the
top-level help lists every command, sub-commands included, built from the parser itself.

>>> parser = CommandParser(prog="tool")
>>> _ = parser.add_argument("--format", default="table", help="how to print")
>>> "how to print (default: table)" in " ".join(parser.format_help().split())
True
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
import typing


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; an option's help gets ``(default: ...)`` unless
    it already speaks of its default, is a flag, or has none worth saying (None)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or not action.option_strings
            or action.nargs == 0  # a flag: --go, --wide
            or default is None
            or default is False
            or default is argparse.SUPPRESS
        ):
            return text
        return f"{text} (default: %(default)s)"


class CommandParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose sub-command parsers use :class:`HelpFormatter` too."""

    def __init__(self, *arguments: typing.Any, **options: typing.Any) -> None:
        options.setdefault("formatter_class", HelpFormatter)
        super().__init__(*arguments, **options)


def sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Every sub-command's parser, by its command line after the program name (``'study ls'``),
    nested ones included, in the order they were added."""
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                for nested, nested_parser in sub_parsers(sub).items():
                    found[f"{name} {nested}"] = nested_parser
    return found


def synopsis(parser: argparse.ArgumentParser) -> str:
    """One usage line per command that runs (not the groups, such as ``study``): what the
    top-level help lists."""
    commands = sub_parsers(parser)
    width = min(shutil.get_terminal_size().columns, 100) - 2
    lines = []
    for name, sub in commands.items():
        if any(other.startswith(name + " ") for other in commands):
            continue  # a group: its sub-commands are listed
        usage = " ".join(sub.format_usage().split())  # one line, whatever the width
        usage = usage.removeprefix("usage: ").replace(" [-h]", "", 1)
        lines += textwrap.wrap(
            usage, width, initial_indent="  ", subsequent_indent="      ", break_on_hyphens=False
        )
    return "\n".join(lines)
