"""A griffe extension for the API reference: phyper's docstrings are written for ``help()`` and
doctest (``>>>`` examples, reST roles); this turns them into the Markdown mkdocstrings renders.

- a doctest example (``>>>`` lines, their continuation and output, up to a blank line) becomes
  a fenced ``pycon`` block, so ``[0, 1]`` in an output is code, not a Markdown link;
- ``.. code-block:: python`` with its indented body becomes a fenced ``python`` block;
- ``:class:`Study``` and the other roles become code spans.

Nothing changes in the package: only the text the site shows.
"""

from __future__ import annotations

import re
import textwrap
import typing

import griffe

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|exc|data|obj):`~?([^`]+)`")
_CODE_BLOCK = re.compile(r"^(\s*)\.\. code-block::\s*(\w*)\s*$")


def to_markdown(text: str) -> str:
    """The Markdown of a docstring written for doctest and reST.

    >>> to_markdown("Use :func:`collect`, or :class:`~phyper.Parser`.")
    'Use `collect`, or `phyper.Parser`.'
    """
    lines = text.splitlines()
    out: list[str] = []
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            out.append(line)
            i += 1
            continue
        if fenced:
            out.append(line)
            i += 1
            continue
        directive = _CODE_BLOCK.match(line)
        if directive:
            indent = len(directive.group(1))
            body = []
            i += 1
            while i < len(lines) and (
                not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent
            ):
                body.append(lines[i])
                i += 1
            code = textwrap.dedent("\n".join(body)).strip("\n")
            out += [f"```{directive.group(2) or 'text'}", *code.splitlines(), "```", ""]
            continue
        if stripped.startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(indent) :] if lines[i].startswith(indent) else lines[i])
                i += 1
            out += [f"{indent}```pycon", *(indent + b for b in block), f"{indent}```"]
            continue
        out.append(_ROLE.sub(r"`\1`", line))
        i += 1
    return "\n".join(out)


class DocstringMarkdown(griffe.Extension):
    """Rewrites every docstring of the loaded package with :func:`to_markdown`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: typing.Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
