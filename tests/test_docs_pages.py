"""Every documentation page runs as a reader would run it, and prints what it shows.

The rules are in tests/run_docs.py. A failure names the page and the line of the block.
"""

from __future__ import annotations

import importlib.util
import os
import pathlib
import re
import subprocess
import sys
import types

import pytest

from tests.run_docs import DocsBlockError, extract, matches, run_page

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# the site's pages, and the README, whose tour is the first code a visitor reads
PAGES = [
    *sorted(path for path in DOCS.rglob("*.md") if "_hooks" not in path.parts),
    ROOT / "README.md",
]


# not named `page`: pytest-playwright (the dashboard's tests) owns a fixture of that name
@pytest.mark.parametrize("doc_page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_the_page_runs_as_shown(doc_page):
    run_page(doc_page)


def test_the_readme_links_to_pages_that_exist():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", readme)
    assert len(links) >= 10
    missing = [link for link in links if not (ROOT / link).is_file()]
    assert not missing, f"README.md links to files that do not exist: {missing}"


def test_every_yaml_block_is_valid_yaml():
    # configuration shown to be copied (profiles, sweep files) must at least parse
    import yaml

    blocks = 0
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for found in re.finditer(r"^( *)```yaml\n(.*?)^\1```", text, re.MULTILINE | re.DOTALL):
            yaml.safe_load(found.group(2))
            blocks += 1
    assert blocks >= 2


def test_the_getting_started_page_has_code_that_runs():
    # the page a new user follows must not be skipped into emptiness
    blocks = extract((DOCS / "getting-started.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    assert all(block.expected is not None for block in blocks)


# ------------------------------------------------------------------------------ the runner


def _page(tmp_path: pathlib.Path, text: str) -> pathlib.Path:
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def test_a_wrong_output_fails_naming_the_page_and_line(tmp_path):
    page = _page(tmp_path, "# t\n\n```python\nprint('one')\n```\n\n```text\ntwo\n```\n")
    with pytest.raises(DocsBlockError, match=r"page\.md, python block at line 3 printed") as info:
        run_page(page)
    assert "two" in str(info.value) and "one" in str(info.value)


def test_a_raising_block_fails(tmp_path):
    page = _page(tmp_path, "```python\nx = 1\n```\n\nText.\n\n```python\n1 / 0\n```\n")
    with pytest.raises(DocsBlockError, match=r"line 7 raised ZeroDivisionError"):
        run_page(page)


def test_the_right_output_passes_and_blocks_share_one_namespace(tmp_path):
    page = _page(
        tmp_path,
        "```python\nx = 40\n```\n\n```python\nprint(x + 2, '  ')\n```\n```text\n42\n```\n",
    )
    assert run_page(page) == 2


def test_blocks_run_as_a_script_would(tmp_path):
    # annotations evaluated at once (no future import leaks from the runner), and a
    # declaration whose annotations name a module-level import resolves them
    page = _page(
        tmp_path,
        "```python\nimport pathlib\nimport phyper\n\nclass A:\n    x: int = 1\n\n"
        "class Paths(phyper.Parser):\n    data: pathlib.Path = 'a.csv'\n\n"
        "print(A.__annotations__['x'] is int, Paths(hashed_resources_folder='r').data)\n```\n"
        "```text\nTrue a.csv\n```\n",
    )
    assert run_page(page) == 1


def test_a_file_block_is_written_where_the_next_blocks_find_it(tmp_path):
    page = _page(
        tmp_path,
        "<!-- docs: file pkg/helpers.py -->\n```python\nANSWER = 42\n1 / 0\n```\n\n"
        "```python\nprint(open('pkg/helpers.py').read().splitlines()[0])\n```\n"
        "```text\nANSWER = 42\n```\n",
    )
    assert run_page(page) == 2


def test_a_skipped_block_does_not_run(tmp_path):
    page = _page(tmp_path, "<!-- docs: skip -->\n```python\n1 / 0\n```\n")
    assert run_page(page) == 0


def test_a_text_block_after_prose_is_not_an_expected_output(tmp_path):
    page = _page(tmp_path, "```python\nprint(1)\n```\n\nSome prose.\n\n```text\n2\n```\n")
    assert run_page(page) == 1


def test_each_page_runs_in_a_fresh_folder(tmp_path):
    writes = _page(tmp_path, "```python\nopen('left.txt', 'w').close()\n```\n")
    run_page(writes)
    run_page(writes)  # a second run would see the file if the folder were reused
    reads = "```python\nimport os\nprint(os.listdir('.'))\n```\n```text\n[]\n```\n"
    assert run_page(_page(tmp_path, reads)) == 1
    assert not (tmp_path / "left.txt").exists()


@pytest.mark.parametrize(
    ("expected", "actual", "result"),
    [
        ("loss 0.1...", "loss 0.1234", True),
        ("loss 0.1...", "loss 0.2234", False),
        ("a\n...\nz", "a\nb\nc\nz", True),
        ("a\n...\nz", "a\nz", True),
        ("a\nz", "a\nb\nz", False),
        ("a  \n\n", "\na\n", True),
        ("a...b", "a\nb", False),  # inside a line, ... never spans lines
        ("x", "x\ny", False),
    ],
)
def test_matching(expected, actual, result):
    assert matches(expected, actual) is result


def test_a_console_block_runs_only_when_marked(tmp_path):
    marked = "<!-- docs: run -->\n```console\n$ echo hello\nhello\n$ echo bye\nbye\n```\n"
    assert run_page(_page(tmp_path, marked)) == 1
    assert run_page(_page(tmp_path, "```console\n$ false\nnothing\n```\n")) == 0
    wrong = "<!-- docs: run -->\n```console\n$ echo hello\ngoodbye\n```\n"
    with pytest.raises(DocsBlockError, match="`echo hello`"):
        run_page(_page(tmp_path, wrong))


def test_the_runner_runs_as_a_script_from_outside_the_repository(tmp_path):
    # as the wheel smoke test runs it: by path, the repository not importable
    page = _page(tmp_path, "```python\nprint('hi')\n```\n```text\nhi\n```\n")
    ok = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "run_docs.py"), str(page)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    page.write_text("```python\nprint('hi')\n```\n```text\nho\n```\n", encoding="utf-8")
    wrong = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "run_docs.py"), str(page)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode == 1
    assert "printed something else" in wrong.stderr


# ------------------------------------------------------------------- the API reference


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, DOCS / "_hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docstring_examples_become_code_blocks_for_the_api_reference():
    to_markdown = _module("griffe_docstrings").to_markdown
    docstring = (
        "The rows, see :meth:`Study.trials_frame`.\n\n"
        "    >>> rows = [0, 1]\n    >>> for row in rows:\n    ...     print(row)\n    0\n    1\n"
        "\nAnd in a Snakefile:\n\n.. code-block:: python\n\n    rule all:\n"
        "        input: [1]\n\nEnd:\n```python\n>>> kept = [2]\n```\n"
    )
    assert to_markdown(docstring).splitlines() == [
        "The rows, see `Study.trials_frame`.",
        "",
        "    ```pycon",
        "    >>> rows = [0, 1]",
        "    >>> for row in rows:",
        "    ...     print(row)",
        "    0",
        "    1",
        "    ```",
        "",
        "And in a Snakefile:",
        "",
        "```python",
        "rule all:",
        "    input: [1]",
        "```",
        "",
        "End:",
        "```python",
        ">>> kept = [2]",
        "```",
    ]


def test_every_public_name_of_phyper_is_in_the_api_reference():
    # the top-level names are listed one by one (grouped by purpose): a new one must be added
    import phyper

    page = (DOCS / "reference" / "api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^::: phyper\.(\w+)$", page, re.MULTILINE))
    missing = sorted(set(phyper.__all__) - {"__version__"} - listed)
    assert not missing, f"add these to docs/reference/api.md: {missing}"
    for module in ("phyper.tune", "phyper.snakemake", "phyper.integrations.burr", "phyper.plot"):
        assert f"::: {module}\n" in page


def test_the_api_reference_uses_the_docstring_extension():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "docs/_hooks/griffe_docstrings.py:DocstringMarkdown" in config


# --------------------------------------------------------------------- the CLI reference


# the shape of the page object MkDocs passes to a hook
CLI_PAGE = types.SimpleNamespace(file=types.SimpleNamespace(src_uri="reference/cli.md"))


def _hook():
    return _module("cli_reference")


def test_the_cli_reference_is_generated_from_the_parser_at_every_build():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "docs/_hooks/cli_reference.py" in config
    hook = _hook()
    page = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert hook.MARKER in page

    from phyper.cli import build_parser

    built = hook.on_page_markdown(page, page=CLI_PAGE)
    parser = build_parser()
    sections = re.findall(r"^## `(.+)`$", built, re.MULTILINE)
    assert sections[0] == "phyper"
    subcommands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(subcommands) <= {s.split()[1] for s in sections[1:]}
    assert "phyper study show" in sections
    # every option of every command, as the parser has it today
    for name, sub in subcommands.items():
        for action in sub._actions:
            for option in action.option_strings:
                assert option in built, f"{option} of phyper {name} is missing"


def test_the_cli_reference_follows_a_change_of_the_parser(monkeypatch):
    hook = _hook()
    import phyper.cli

    original = phyper.cli.build_parser

    def changed():
        parser = original()
        commands = next(a for a in parser._actions if a.dest == "command")
        commands.add_parser("brand-new", help="a command added after the page was written")
        return parser

    monkeypatch.setattr(phyper.cli, "build_parser", changed)
    monkeypatch.delenv("COLUMNS", raising=False)
    assert "## `phyper brand-new`" in hook.phyper_reference()
    assert "COLUMNS" not in os.environ  # the width is set for the help only


def test_the_hooks_docstring_examples_hold():
    # docs/ is outside pytest's doctest collection: run the hooks' examples here
    import doctest

    for name in ("cli_reference", "griffe_docstrings"):
        failed, attempted = doctest.testmod(_module(name))
        assert attempted and not failed, name


def test_a_cli_page_without_its_marker_is_an_error():
    hook = _hook()

    with pytest.raises(ValueError, match="lost its marker"):
        hook.on_page_markdown("# Command line\n", page=CLI_PAGE)
