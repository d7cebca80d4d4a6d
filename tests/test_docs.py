"""docs/hash-spec.md is checked against the code: its metadata example is read back by the
reader, and the hash is rebuilt byte by byte from the document's text alone.

A failure here means the document and the code disagree: fix whichever is wrong, never a golden
vector.
"""

from __future__ import annotations

import ast
import enum
import json
import pathlib
import re
import struct

import pytest
import xxhash

import phyper
from tests.conftest import make_parser
from tests.test_hashing import CASES, GOLDEN

SPEC_PATH = pathlib.Path(__file__).resolve().parent.parent / "docs" / "hash-spec.md"
SPEC = SPEC_PATH.read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = SPEC.index(f"\n## {title}\n")
    end = SPEC.find("\n## ", start + 1)
    return SPEC[start : None if end == -1 else end]


def _fenced(text: str, language: str) -> str:
    found = re.search(rf"^```{language}\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    assert found, f"no ```{language} block in the section"
    return found.group(1)


def _table(text: str) -> dict[str, str]:
    """The first two-column markdown table of ``text``, as first column -> second column."""
    block = re.search(r"((?:^\|.*\|\n)+)", text, re.MULTILINE)
    assert block, "no table in the section"
    rows = re.findall(r"^\|([^|\n]*)\|(.*)\|$", block.group(1), re.MULTILINE)
    return {left.strip(): right.strip() for left, right in rows[2:]}  # no header, no rule


# ------------------------------------------------------------------- the metadata example


def _declared() -> dict[str, object]:
    """The declaration the document shows above its metadata example, run."""
    # annotations are resolved in the class's module: this one, which imports the same names
    namespace: dict[str, object] = {"__name__": __name__}
    namespace.update(enum=enum, pathlib=pathlib, phyper=phyper)
    exec(_fenced(_section("The metadata file"), "python"), namespace)
    return namespace


def test_the_metadata_example_is_what_the_writer_writes_and_the_reader_accepts(tmp_path):
    section = _section("The metadata file")
    text = _fenced(section, "json")
    document = json.loads(text)
    root = tmp_path / "results"
    folder = root / document["resource"] / document["hash"]
    folder.mkdir(parents=True)
    (folder / phyper.INFO_FILE).write_text(text, encoding="utf-8")

    table = phyper.scan(root)
    assert table[["resource", "hash", "status"]].values.tolist() == [
        [document["resource"], document["hash"], "ok"]
    ], table.problem.tolist()

    namespace = _declared()
    instance_class = namespace["Instance"]
    parser = instance_class(hashed_resources_folder=str(root))
    resource = None if document["resource"] == "all" else document["resource"]
    loaded = parser.load_instance_from_disk_by_hash(document["hash"], resource)
    assert loaded.get_instance_hash(resource) == document["hash"]
    given = re.search(r"\nwith `(.+?)` and `(.+?)`, byte for byte", section)
    assert given, "the document no longer says which values the example holds"
    assert loaded == eval(f"Instance({given.group(1)}, {given.group(2)})", namespace)
    # the writer finds the document's bytes already in place: the example is its exact output
    inode = (folder / phyper.INFO_FILE).stat().st_ino
    assert parser.generate_instance_info_files([loaded], [resource]) == phyper.WriteReport(0, 1)
    assert (folder / phyper.INFO_FILE).stat().st_ino == inode


def test_every_field_of_the_metadata_example_is_described():
    section = _section("The metadata file")
    document = json.loads(_fenced(section, "json"))
    assert [f"`{field}`" for field in document] == list(_table(section))


def test_the_hash_values_example_is_a_resource_hash(tmp_path):
    call = re.search(r"`phyper\.hash_values\((\{.*?\})\)`", SPEC)
    assert call, "the document no longer shows a phyper.hash_values call"
    values = ast.literal_eval(call.group(1))
    parser = make_parser(str(tmp_path))
    (instance,) = parser.get_instances_from_dictionary({k: [v] for k, v in values.items()})
    assert phyper.hash_values(values) == instance.get_instance_hash("preprocessed_data")


# ------------------------------------------------------------- the hash, from the text alone


def _bytes_section() -> str:
    return _section("The bytes")


def _spec_lines() -> dict[str, str]:
    """``digest``, ``PREFIX`` and ``segment`` from the code block of "The bytes"."""
    lines = {}
    for line in _fenced(_bytes_section(), "").splitlines():
        name, _, definition = line.partition("=")
        lines[name.strip()] = definition.strip()
    return lines


def _terms(formula: str) -> list[str]:
    """The terms of ``a + b + c``, ignoring ``+`` inside parentheses and backticks."""
    terms, depth, quoted, current = [], 0, False, ""
    for char in formula:
        if char == "`":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == "+" and depth == 0 and not quoted:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    return [*terms, current.strip()]


class SpecHash:
    """phyper's hash as docs/hash-spec.md describes it, built without phyper's code."""

    # the table's first column, the most specific Python types first (as the text says: a bool
    # is not an int, an Enum member is an Enum even when it is an int or a str)
    TYPES = [
        ("None", lambda v: v is None),
        ("bool", lambda v: isinstance(v, bool)),
        ("Enum", lambda v: isinstance(v, enum.Enum)),
        ("int", lambda v: isinstance(v, int)),
        ("float", lambda v: isinstance(v, float)),
        ("str", lambda v: isinstance(v, str)),
        ("Path", lambda v: isinstance(v, pathlib.PurePath)),
        ("tuple", lambda v: isinstance(v, tuple)),
    ]

    def __init__(self) -> None:
        lines = _spec_lines()
        self.prefix = ast.literal_eval(lines["PREFIX"])
        assert isinstance(self.prefix, bytes)
        self.segment_terms = _terms(lines["segment"])
        digest = lines["digest"]
        assert digest.startswith("xxh3_128(PREFIX + segment(name_1) + segment(name_2)"), digest
        assert digest.endswith("# names sorted by code point"), digest
        function = re.search(r"\(`(xxh3_128\w*)`\)", _bytes_section())
        assert function, "the document no longer names the xxhash function"
        self.hexdigest = getattr(xxhash, function.group(1))
        self.table = _table(_bytes_section())
        assert sorted(self.table) == sorted(name for name, _ in self.TYPES)

    def hash(self, values: dict[str, object]) -> str:
        # "names sorted by code point"; a None value is the default omit value: no segment
        names = sorted(name for name in values if values[name] is not None)
        return self.hexdigest(self.prefix + b"".join(self.segment(n, values[n]) for n in names))

    def segment(self, name: str, value: object) -> bytes:
        known = {"name_utf8": name.encode("utf-8"), "encode(value)": self.encode(value)}
        return self._join(self.segment_terms, known, lambda term: None)

    def _join(self, terms, known, payload) -> bytes:
        out: list[bytes | None] = []
        length_of_next = False
        for term in terms:
            if term.startswith('b"'):
                out.append(ast.literal_eval(term))
            elif term.startswith("`") and term.endswith("`") and term.count("`") == 2:
                out.append(term.strip("`").encode("ascii"))
            elif term in ("len", "len(name_utf8)"):
                length_of_next = True
                continue
            else:
                piece = known[term] if term in known else payload(term)
                assert piece is not None, f"the spec's term {term!r} is not understood"
                out.append(piece)
            if length_of_next:
                # `len` stands before the `:` that precedes its payload
                out.insert(len(out) - 1, None)
                length_of_next = False
        # fill each length with the byte length of the field two places later (after the ":")
        for i, piece in enumerate(out):
            if piece is None:
                out[i] = str(len(out[i + 2])).encode("ascii")
        return b"".join(out)

    def encode(self, value: object) -> bytes:
        kind = next(name for name, test in self.TYPES if test(value))
        cell = self.table[kind]
        if kind == "bool":
            true, false = re.fullmatch(r"`(\w+)` / `(\w+)`", cell).groups()
            return (true if value else false).encode("ascii")
        rule = re.sub(r" \(.*\)$", "", cell)  # the parenthesis comments the payload
        notes = cell[len(rule) :]

        def payload(term: str) -> bytes | None:
            if term == "decimal digits":
                assert "with `-` if negative" in notes
                return str(value).encode("ascii")
            if term == "8 bytes, IEEE-754 binary64, big endian":
                assert "`-0.0` written as `0.0`" in notes
                return struct.pack(">d", value + 0.0)
            if term == "UTF-8 bytes":
                return value.encode("utf-8")
            if term == "UTF-8 of the POSIX form":
                return value.as_posix().encode("utf-8")
            if term == "UTF-8 of the member *name*":
                return value.name.encode("utf-8")
            if term == "the encodings of the items, in order":
                return b"".join(self.encode(item) for item in value)
            return None

        terms = _terms(rule)
        if "item count" in terms:
            count = terms.index("item count")
            terms[count : count + 1] = ["`" + str(len(value)) + "`"]
        return self._join(terms, {}, payload)


class Color(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 2


# one value (or more) for every row of the table, beside the golden vectors of test_hashing
COVERING = {
    "omitted": {"a": None, "b": 1},
    "bools": {"yes": True, "no": False},
    "ints": {"negative": -7, "big": 2**100, "zero": 0},
    "floats": {"negative_zero": -0.0, "tenth": 0.1, "inf": float("inf")},
    "str": {"name": "héllo 日本 🙂"},
    "path": {"data": pathlib.PurePosixPath("data/iris.csv"), "abs": pathlib.Path("/srv")},
    "enums": {"color": Color.RED, "level": Level.HIGH},
    "tuple": {"t": (1, -2.5, "x", None, (), (True, Color.RED, pathlib.PurePosixPath("a/b")))},
    "unicode_names": {"é": 1, "z": 2, "É": 3},
}


def test_the_prefix_names_the_spec_version():
    title = re.match(r"# The phyper hash, spec version (\d+)\n", SPEC)
    assert title and int(title.group(1)) == phyper.HASH_SPEC_VERSION
    assert SpecHash().prefix == f"phyper-hash/{phyper.HASH_SPEC_VERSION}\n".encode()


@pytest.mark.parametrize("name", list(COVERING))
def test_the_spec_text_gives_the_same_hash(name):
    values = COVERING[name]
    assert SpecHash().hash(values) == phyper.hash_values(values)


@pytest.mark.parametrize(("name", "values"), CASES, ids=[name for name, _ in CASES])
def test_the_spec_text_gives_the_golden_vectors(name, values):
    assert SpecHash().hash(values) == GOLDEN[name]
