"""Run the code blocks of a documentation page, as a reader would, and check what they print.

The rules (the documentation's contract):

- Every fenced ```python block of a page runs, in order, in one namespace per page, with a fresh
  temporary folder as the working directory.
- A block preceded by the line ``<!-- docs: skip -->`` does not run (it needs a cluster, a
  browser, a name the page leaves undefined).
- A ```text block right after a python block is that block's expected standard output. Lines are
  compared after stripping trailing spaces; ``...`` inside a line matches any text in that line,
  and a line that is only ``...`` matches any number of lines (as doctest's ELLIPSIS).
- A block of any language preceded by ``<!-- docs: file NAME -->`` is written to the file NAME
  in that folder when its turn comes (a Snakefile, a module the next blocks import); it does
  not run itself.
- A ```console block preceded by ``<!-- docs: run -->`` runs too: each ``$ command`` line in a
  shell in the same folder, the lines up to the next ``$`` being its expected output (stdout and
  stderr together), compared the same way. Other console blocks are for reading only.

Only the standard library is used, so that this file also runs where phyper is installed from
its wheel and the repository is not importable: ``python tests/run_docs.py docs/PAGE.md``.

>>> [block.kind for block in extract("```python\\nprint(1)\\n```\\n```text\\n1\\n```\\n")]
['python']
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
import types
from collections.abc import Iterator

SKIP = "<!-- docs: skip -->"
RUN = "<!-- docs: run -->"
_FILE = re.compile(r"^<!-- docs: file (?P<name>[^<>]+?) -->$")
MODULE = "__docs_page__"  # the module a page's blocks run in
_FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)


@dataclasses.dataclass(frozen=True)
class Block:
    """One runnable block of a page: its kind (``python``, ``console`` or ``file``), its code,
    the output shown after it (None: not compared), the line where its fence opens (1-based)
    and, for a ``file`` block, the name of the file it is written to."""

    kind: str
    code: str
    expected: str | None
    line: int
    file: str | None = None


class DocsBlockError(AssertionError):
    """A block of a page raised, or printed something else than the page shows."""


def _fences(text: str) -> Iterator[tuple[str, str, int, int, str]]:
    """(language, body, start offset, end offset, the line before the fence) of each fence."""
    for match in _FENCE.finditer(text):
        indent = len(match.group("indent"))
        body = "".join(line[indent:] + "\n" for line in match.group("body").splitlines())
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        yield match.group("info").strip().split(" ")[0], body, match.start(), match.end(), before


def extract(text: str) -> list[Block]:
    """The blocks of a page's Markdown that run, in order, each with its expected output."""
    fences = list(_fences(text))
    blocks = []
    for index, (language, body, start, _end, before) in enumerate(fences):
        line = text.count("\n", 0, start) + 1
        written = _FILE.match(before)
        if written:
            blocks.append(Block("file", body, None, line, written.group("name")))
        elif language == "python" and before != SKIP:
            expected = None
            if index + 1 < len(fences):
                following, shown, next_start, _, _ = fences[index + 1]
                # "right after": only blank lines between the two fences
                if following == "text" and not text[_end:next_start].strip():
                    expected = shown
            blocks.append(Block("python", body, expected, line))
        elif language == "console" and before == RUN:
            blocks.append(Block("console", body, None, line))
    return blocks


def _pattern(expected: str) -> re.Pattern[str]:
    lines = [line.rstrip() for line in expected.strip("\n").split("\n")]
    parts = []
    for line in lines:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(r"[^\n]*".join(re.escape(piece) for piece in line.split("...")) + r"\n")
    return re.compile("".join(parts))


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` output is what ``expected`` shows (trailing spaces and blank lines at
    either end ignored, ``...`` as described above).

    >>> matches("loss 0.12...\\n", "loss 0.1234  \\n")
    True
    >>> matches("a\\n...\\nz", "a\\nb\\nc\\nz\\n")
    True
    >>> matches("a\\nz", "a\\nb\\nz")
    False
    """
    lines = [line.rstrip() for line in actual.strip("\n").split("\n")]
    return _pattern(expected).fullmatch("\n".join(lines) + "\n") is not None


def _console_commands(body: str) -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ command`` line of a console block."""
    commands: list[tuple[str, list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise DocsBlockError(f"console block text before its first '$ ' command: {line!r}")
    return [(command, "\n".join(output)) for command, output in commands]


def _difference(where: str, expected: str, actual: str) -> DocsBlockError:
    return DocsBlockError(
        f"{where} printed something else than the page shows.\n"
        f"--- the page shows:\n{expected.rstrip()}\n--- it printed:\n{actual.rstrip()}"
    )


def _console_environment() -> dict[str, str]:
    """The shell's environment: this Python's scripts first on the path (``phyper`` is the
    command of the phyper being tested), and a 100-column terminal."""
    scripts = os.path.dirname(sys.executable)
    return {
        **os.environ,
        "PATH": scripts + os.pathsep + os.environ.get("PATH", ""),
        "COLUMNS": "100",
    }


def run_blocks(blocks: list[Block], name: str, folder: str) -> None:
    """Run ``blocks`` in order in ``folder`` (the working directory meanwhile), one namespace;
    raise :class:`DocsBlockError` naming ``name`` and the block's line at the first failure."""
    # a real module, as a script's __main__ is: typing.get_type_hints (which phyper uses to
    # read a declaration's annotations) looks the class's module up in sys.modules
    module = types.ModuleType(MODULE)
    namespace = module.__dict__
    previous = os.getcwd()
    os.chdir(folder)
    sys.modules[MODULE] = module
    sys.path.insert(0, folder)  # as a script's folder: modules the page writes are importable
    try:
        for block in blocks:
            where = f"{name}, {block.kind} block at line {block.line}"
            if block.kind == "file":
                assert block.file is not None
                target = os.path.join(folder, block.file)
                if os.path.dirname(block.file):
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as stream:
                    stream.write(block.code)
            elif block.kind == "python":
                output = io.StringIO()
                try:
                    # dont_inherit: the runner's future imports are not the page's
                    code = compile(block.code, f"{name}:{block.line}", "exec", dont_inherit=True)
                    with contextlib.redirect_stdout(output):
                        exec(code, namespace)
                except Exception as error:
                    raise DocsBlockError(
                        f"{where} raised {type(error).__name__}: {error}\n"
                        f"{traceback.format_exc()}\n--- it printed before:\n{output.getvalue()}"
                    ) from error
                if block.expected is not None and not matches(block.expected, output.getvalue()):
                    raise _difference(where, block.expected, output.getvalue())
            else:
                for command, expected in _console_commands(block.code):
                    done = subprocess.run(
                        command,
                        shell=True,
                        capture_output=True,
                        text=True,
                        env=_console_environment(),
                        check=False,
                    )
                    printed = done.stdout + done.stderr
                    if not matches(expected, printed):
                        raise _difference(f"{where}, `{command}`", expected, printed)
    finally:
        os.chdir(previous)
        del sys.modules[MODULE]
        sys.path.remove(folder)
        # a module the page wrote must not be found by the next page under the same name
        for name, imported in list(sys.modules.items()):
            if (getattr(imported, "__file__", None) or "").startswith(folder + os.sep):
                del sys.modules[name]


def run_page(path: str | os.PathLike[str]) -> int:
    """Run every block of the Markdown page at ``path`` in a fresh temporary folder; return how
    many ran. Raises :class:`DocsBlockError` at the first block that raises or prints something
    else than the page shows."""
    with open(path, encoding="utf-8") as stream:
        blocks = extract(stream.read())
    with tempfile.TemporaryDirectory(prefix="phyper-docs-") as folder:
        run_blocks(blocks, os.fspath(path), folder)
    return len(blocks)


def main(argv: list[str]) -> int:
    """``python tests/run_docs.py PAGE.md...``: run the pages; exit code 1 at a failure."""
    for page in argv:
        try:
            count = run_page(page)
        except DocsBlockError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"{page}: {count} blocks ran as shown")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
