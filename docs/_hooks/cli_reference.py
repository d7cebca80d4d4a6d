"""MkDocs hook: the command-line reference, generated from phyper's argparse parser at every
build, so the page can never disagree with ``phyper --help``.

``docs/reference/cli.md`` holds the line ``<!-- cli-reference -->``; each build replaces it with
the help of ``phyper`` and of every sub-command, in the order the parser lists them.
"""

from __future__ import annotations

import argparse
import os
import sys
import typing

MARKER = "<!-- cli-reference -->"
PAGE = "reference/cli.md"
WIDTH = "100"  # the help as read on a 100-column terminal
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _commands(
    parser: argparse.ArgumentParser,
) -> typing.Iterator[argparse.ArgumentParser]:
    """``parser`` and every sub-command's parser below it, depth first, in the parser's order."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases appear once
                yield from _commands(sub)


def reference(parser: argparse.ArgumentParser) -> str:
    """The Markdown of the reference: one section per command, its help verbatim.

    >>> demo = argparse.ArgumentParser(prog="demo")
    >>> _ = demo.add_subparsers().add_parser("hello", help="say hello")
    >>> print(reference(demo).splitlines()[0])
    ## `demo`
    """
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        sections = [
            f"## `{command.prog}`\n\n```text\n{command.format_help().rstrip()}\n```\n"
            for command in _commands(parser)
        ]
    finally:
        if previous is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = previous
    return "\n".join(sections)


def phyper_reference() -> str:
    """The reference of the ``phyper`` command of this checkout."""
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    from phyper.cli import build_parser

    return reference(build_parser())


def on_page_markdown(markdown: str, page: typing.Any, **_: typing.Any) -> str:
    """MkDocs' hook: fill the marker of the CLI page in."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        raise ValueError(f"docs/{PAGE} lost its marker line {MARKER!r}: nowhere to put the help")
    return markdown.replace(MARKER, phyper_reference())
