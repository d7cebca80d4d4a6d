"""Collecting result files into tidy tables."""

from __future__ import annotations

import enum
import json
import os
import pathlib

import pandas as pd
import pytest

import phyper
from tests.conftest import Instance


def metrics_path(instance):
    return os.path.join(instance.get_resources_path(), "metrics.json")


def curve_path(instance):
    return os.path.join(instance.get_resources_path(), "curve.csv")


def _write_results(instances, skip=()):
    for position, instance in enumerate(instances):
        if position in skip:
            continue
        os.makedirs(instance.get_resources_path(), exist_ok=True)
        with open(metrics_path(instance), "w") as stream:
            json.dump({"loss": position / 10, "seed": -1}, stream)
        pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}).to_csv(
            curve_path(instance), index=False
        )


def test_collect_json_one_row_per_instance_beside_hyperparameters(instances):
    _write_results(instances)
    frame = phyper.collect(instances, metrics_path)
    assert len(frame) == 90
    assert list(frame.columns[:2]) == ["hash", "seed"]
    assert frame.loss.tolist() == [i / 10 for i in range(90)]
    # a result column named like a hyperparameter is kept, renamed
    assert (frame.result_seed == -1).all() and (frame.seed == 0).all()
    assert frame.hash.tolist() == [i.get_instance_hash() for i in instances]


def test_collect_csv_is_tidy(instances):
    _write_results(instances[:3])
    frame = phyper.collect(instances[:3], curve_path)
    assert len(frame) == 6
    assert frame.epoch.tolist() == [1, 2] * 3
    assert frame.transformation.tolist() == ["identity"] * 6


def test_collect_with_a_callable_loader_and_a_resource(instances, parser):
    for instance in Instance.get_resources(instances, "preprocessed_data"):
        folder = instance.get_resources_path("preprocessed_data")
        os.makedirs(folder)
        with open(os.path.join(folder, "n.txt"), "w") as stream:
            stream.write(str(len(instance.transformation)))

    def path(instance):
        return os.path.join(instance.get_resources_path("preprocessed_data"), "n.txt")

    def read_int(path: str) -> int:
        with open(path) as stream:
            return int(stream.read())

    frame = phyper.collect(instances, path, loader=read_int, resource_name="preprocessed_data")
    assert len(frame) == 6
    assert list(frame.columns) == ["preprocessed_data_hash", "transformation", "centering", "value"]
    assert frame.value.tolist() == [8, 8, 3, 3, 6, 6]


def test_missing_files_are_reported_not_silently_skipped(instances):
    _write_results(instances[:10], skip={2, 5})
    with pytest.warns(phyper.MissingResultsWarning, match="2 of 10 result files are missing"):
        frame = phyper.collect(instances[:10], metrics_path)
    assert len(frame) == 8
    assert frame.attrs["missing"] == [metrics_path(instances[2]), metrics_path(instances[5])]
    with pytest.raises(phyper.MissingResultsError, match="2 of 10"):
        phyper.collect(instances[:10], metrics_path, missing="raise")


def test_yaml_loader_and_unknown_extension(instances, tmp_path):
    instance = instances[0]
    os.makedirs(instance.get_resources_path())
    path = os.path.join(instance.get_resources_path(), "r.yaml")
    with open(path, "w") as stream:
        stream.write("accuracy: 0.9\n")
    frame = phyper.collect([instance], lambda i: path)
    assert frame.accuracy.tolist() == [0.9]
    with pytest.raises(ValueError, match=r"no loader for '.*\.bin'"):
        phyper.collect([instance], lambda i: path.replace("r.yaml", "phyper.json.bin"))


def test_collect_from_disk_needs_no_configuration(instances, parser):
    _write_results(instances)
    parser.generate_instance_info_files(instances)
    frame = phyper.collect_from_disk(parser.hashed_resources_folder, "all", "metrics.json")
    assert len(frame) == 90
    assert set(frame.hash) == {i.get_instance_hash() for i in instances}
    assert {"seed", "transformation", "loss"} <= set(frame.columns)


def test_collect_from_disk_takes_exactly_the_folders_scan_finds_ok(instances, parser):
    _write_results(instances)
    parser.generate_instance_info_files(instances)
    root = pathlib.Path(parser.hashed_resources_folder)
    folders = sorted((root / "all").iterdir())
    (folders[0] / phyper.INFO_FILE).unlink()  # no metadata
    (folders[1] / phyper.INFO_FILE).write_text("{not json")  # corrupt
    edited = json.loads((folders[2] / phyper.INFO_FILE).read_text())
    edited["hyperparameters"]["seed"] += 100
    (folders[2] / phyper.INFO_FILE).write_text(json.dumps(edited))  # hashes elsewhere
    renamed = folders[3].with_name("f" * 32)
    folders[3].rename(renamed)  # metadata of another folder
    os.symlink(folders[4], root / "all" / ("e" * 32))  # a link to a good folder
    scanned = phyper.scan(root, "all")
    assert sorted(set(scanned.status)) == ["corrupt", "mismatch", "no metadata", "ok", "symlink"]
    frame = phyper.collect_from_disk(root, "all", "metrics.json")
    assert set(frame.hash) == set(scanned.hash[scanned.status == "ok"])
    assert len(frame) == 90 - 4


# ------------------------------------------------ the fast paths give the row-by-row table


def _row_by_row(instances, path_function, loader=None):
    """The table as phyper built it before: one pandas load per file, one dict per row."""
    rows, absent = [], []
    for instance in Instance.deduplicate(instances):
        path = path_function(instance)
        if not os.path.exists(path):
            absent.append(path)
            continue
        hyperparameters = instance.to_dict()
        if loader is not None:
            loaded = loader(path)
        elif path.endswith(".csv"):
            loaded = pd.read_csv(path)
        elif path.endswith(".yaml"):
            import yaml

            with open(path) as stream:
                loaded = yaml.safe_load(stream)
        else:
            with open(path) as stream:
                loaded = json.load(stream)
        if isinstance(loaded, pd.DataFrame):
            records = loaded.to_dict(orient="records")
        elif isinstance(loaded, dict):
            records = [loaded]
        elif isinstance(loaded, list) and all(isinstance(item, dict) for item in loaded):
            records = loaded
        else:
            records = [{"value": loaded}]
        for values in records:
            clashes = set(values) & (set(hyperparameters) | {"hash"})
            values = {(f"result_{k}" if k in clashes else k): v for k, v in values.items()}
            rows.append({"hash": instance.get_instance_hash(), **hyperparameters, **values})
    frame = pd.DataFrame(rows)
    frame.attrs["missing"] = absent
    return frame


def _result_path(instance):
    return os.path.join(instance.get_resources_path(), "result.csv")


def _write(instances, contents, path_function=_result_path):
    """File ``i`` of ``contents`` (bytes, or None for no file) into instance ``i``'s folder."""
    for instance, content in zip(instances, contents, strict=False):
        if content is None:
            continue
        os.makedirs(instance.get_resources_path(), exist_ok=True)
        with open(path_function(instance), "wb") as stream:
            stream.write(content)


def _same_as_row_by_row(instances, path_function=_result_path, loader=None):
    frame = phyper.collect(instances, path_function, loader=loader, missing="ignore")
    expected = _row_by_row(instances, path_function, loader)
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.attrs["missing"] == expected.attrs["missing"]
    return frame


PLAIN = b"epoch,loss\n1,0.5\n2,0.25\n3,0.125\n"


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param(b"epoch,loss,note\n1,0.5,a\n", id="another header"),
        pytest.param(b'epoch,loss\n1,"0.5"\n2,"1,5"\n', id="quoted fields"),
        pytest.param(b'epoch,note\n1,"two\nlines"\n2,x\n', id="quoted newline"),
        pytest.param(b"epoch,loss\n1,0.5\n2,0.25", id="no trailing newline"),
        pytest.param(b"epoch,loss\n", id="only a header"),
        pytest.param(b"epoch,loss", id="only a header, no newline"),
        pytest.param(b"\xef\xbb\xbfepoch,loss\n1,0.5\n", id="BOM"),
        pytest.param(b"epoch,loss\r\n1,0.5\r\n2,0.25\r\n", id="CRLF"),
        pytest.param(b"epoch,loss\n\n1,0.5\n\n", id="blank lines"),
        pytest.param(b"epoch,loss\n1,0.5,extra\n2,0.25,more\n", id="first column as index"),
        pytest.param(b"epoch,loss\n1\n2,0.25\n", id="a short row"),
        pytest.param(b"epoch,loss\n1,0.5\n   \n", id="a row of spaces"),
        pytest.param(b"epoch,loss\n1,NA\n2,\n", id="missing values"),
        pytest.param(b"epoch,loss\nfirst,high\n", id="text where others have numbers"),
        pytest.param(b"epoch,loss\nTrue,False\n", id="booleans where others have numbers"),
        pytest.param(b"seed,hash,loss\n5,h,0.1\n", id="columns named like the keys"),
        pytest.param(b"a,a,b\n1,2,3\n", id="a repeated column name"),
        pytest.param(b"x\n1\n", id="one column"),
        pytest.param(None, id="missing file"),
    ],
)
@pytest.mark.parametrize("where", [0, 1, 5])
def test_csv_files_parsed_together_match_each_parsed_alone(parser, odd, where):
    instances = parser.get_instances_from_dictionary({"seed": list(range(8))})
    contents = [PLAIN] * len(instances)
    contents[where] = odd
    _write(instances, contents)
    _same_as_row_by_row(instances)


def test_an_empty_csv_file_fails_as_pandas_does(parser):
    instances = parser.get_instances_from_dictionary({"seed": [0, 1]})
    _write(instances, [PLAIN, b""])
    with pytest.raises(pd.errors.EmptyDataError):
        phyper.collect(instances, _result_path)


@pytest.mark.parametrize(
    "others",
    [
        [b"kind,value\ntrain,1\n", b"kind,value\n1,2\n", b"kind,value\nTRUE,3\n"],
        [b"kind,value\n,1\n", b"kind,value\ntest,x\n", b"kind,value\n2.5,NA\n"],
        [b"kind\nnan\n", b"kind\n1e3\n", b"kind\n-inf\n", b"kind\nword\n"],
        [b"flag\nTrue\n", b"flag\nfalse\n", b"flag\n\n", b"other\n1\n", b"flag\nFalse\n"],
        [b"n\n1\n", b"n\n2.5\n", b"n\n\n", b"n\n99999999999\n"],
    ],
)
def test_column_types_are_inferred_as_each_file_alone_would(parser, others):
    instances = parser.get_instances_from_dictionary({"seed": list(range(len(others) * 2))})
    _write(instances, others * 2)
    _same_as_row_by_row(instances)


def test_no_file_at_all_gives_an_empty_table(parser):
    instances = parser.get_instances_from_dictionary({"seed": [0, 1]})
    frame = _same_as_row_by_row(instances)
    assert frame.empty


def _json_path(instance):
    return os.path.join(instance.get_resources_path(), "result.json")


def test_json_results_of_every_shape_match_row_by_row(parser):
    instances = parser.get_instances_from_dictionary({"seed": list(range(7))})
    documents = [
        {"loss": 0.5, "seed": 3},
        [{"loss": 0.1, "epoch": 1}, {"loss": 0.2, "epoch": 2}],
        3.5,
        [],
        {"loss": "diverged", "hash": "x"},
        None,
        {"loss": 1, "extra": [1, 2]},
    ]
    _write(instances, [json.dumps(d).encode() for d in documents], _json_path)
    _same_as_row_by_row(instances, _json_path)


def test_callable_loaders_returning_frames_match_row_by_row(parser):
    instances = parser.get_instances_from_dictionary({"seed": [0, 1, 2]})
    _write(instances, [PLAIN, b"epoch,loss\n1,x\n", PLAIN])
    _same_as_row_by_row(instances, loader=pd.read_csv)


def _row_by_row_from_disk(root, name):
    rows = []
    for folder in phyper._scan.iter_folders(root, "all"):
        path = os.path.join(folder.path, name)
        if folder.status != "ok" or not os.path.exists(path):
            continue
        hyperparameters = {
            k: phyper._store.display_value(v) for k, v in folder.hyperparameters.items()
        }
        for values in pd.read_csv(path).to_dict(orient="records"):
            clashes = set(values) & (set(hyperparameters) | {"hash"})
            values = {(f"result_{k}" if k in clashes else k): v for k, v in values.items()}
            rows.append({"hash": folder.hash, **hyperparameters, **values})
    return pd.DataFrame(rows)


def test_collect_from_disk_matches_row_by_row_with_rich_values_and_two_declarations(tmp_path):
    class Colour(enum.Enum):
        RED = 1
        BLUE = 2

    class Rich(phyper.Parser):
        colour = Colour.RED
        data: pathlib.Path = pathlib.Path("a/b.csv")
        sizes = (1, 2)
        rate = 0.5

    class Other(phyper.Parser):  # other hyperparameters, same root
        depth = 3

    root = str(tmp_path)
    rich = Rich(hashed_resources_folder=root).get_instances_from_dictionary(
        {"colour": list(Colour), "rate": [0.1, 0.2]}
    )
    Rich.generate_instance_info_files(rich)
    _write(rich, [PLAIN, b"epoch,loss\n1,x\n", PLAIN, b"epoch\n7\n"])
    pd.testing.assert_frame_equal(
        phyper.collect_from_disk(root, "all", "result.csv"),
        _row_by_row_from_disk(root, "result.csv"),
    )
    others = Other(hashed_resources_folder=root).get_instances_from_dictionary({"depth": [1, 2]})
    Other.generate_instance_info_files(others)
    _write(others, [PLAIN, b"depth,loss\n9,0.5\n"])
    pd.testing.assert_frame_equal(
        phyper.collect_from_disk(root, "all", "result.csv"),
        _row_by_row_from_disk(root, "result.csv"),
    )


def test_yaml_results_match_row_by_row_with_safe_load(parser):
    instances = parser.get_instances_from_dictionary({"seed": list(range(4))})
    documents = [
        b"loss: 0.5\nwhen: 2024-01-02\nok: yes\nnote: 1e3\n",
        b"- {epoch: 1, loss: .inf}\n- {epoch: 2, loss: null}\n",
        b"just text\n",
        b"loss: 0x1F\ntags: [a, b]\nseed: 3\n",
    ]
    path = lambda i: os.path.join(i.get_resources_path(), "result.yaml")  # noqa: E731
    _write(instances, documents, path)
    _same_as_row_by_row(instances, path)


def test_progress_is_shown_only_on_a_terminal(monkeypatch):
    from phyper import _collect

    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    assert _collect._progress([1, 2], "results").disable


def test_a_hyperparameter_named_like_the_hash_column_matches_row_by_row(tmp_path):
    class Odd(phyper.Parser):
        hash = 1  # shadows the hash column, as it did before

    instances = Odd(hashed_resources_folder=str(tmp_path)).get_instances_from_dictionary(
        {"hash": [1, 2]}
    )
    _write(instances, [PLAIN, PLAIN])
    frame = phyper.collect(instances, _result_path)
    rows = []
    for instance in instances:
        for values in pd.read_csv(_result_path(instance)).to_dict(orient="records"):
            rows.append({"hash": instance.get_instance_hash(), **instance.to_dict(), **values})
    pd.testing.assert_frame_equal(frame, pd.DataFrame(rows))


def test_a_renamed_column_meeting_a_hyperparameter_matches_row_by_row(tmp_path):
    class Clash(phyper.Parser):
        x = 1
        result_x = 2

    instances = Clash(hashed_resources_folder=str(tmp_path)).get_instances_from_dictionary(
        {"x": [1, 2]}
    )
    _write(instances, [b"x,y\n5,6\n", b"x,y\n7,8\n"])
    frame = phyper.collect(instances, _result_path)
    rows = []
    for instance in instances:
        hyperparameters = instance.to_dict()
        for values in pd.read_csv(_result_path(instance)).to_dict(orient="records"):
            values = {(f"result_{k}" if k in hyperparameters else k): v for k, v in values.items()}
            rows.append({"hash": instance.get_instance_hash(), **hyperparameters, **values})
    pd.testing.assert_frame_equal(frame, pd.DataFrame(rows))


@pytest.mark.parametrize(
    "content",
    [b'{"a": 1,\r\n "b": "x"}', b'{"a": 1,\r "b": 2}', '{"a": "\u00e9"}'.encode(), b"[1, 2]"],
    ids=["crlf", "cr", "utf-8", "list"],
)
def test_json_and_yaml_results_read_as_text_mode_reads_them(tmp_path, content):
    from phyper import _collect

    path = tmp_path / "result.json"
    path.write_bytes(content)
    with open(path, encoding="utf-8") as stream:
        assert _collect._load_json(str(path)) == json.load(stream)
    with open(path, encoding="utf-8") as stream:
        import yaml

        assert _collect._load_yaml(str(path)) == yaml.safe_load(stream)


@pytest.mark.parametrize(
    "content", [b'\xef\xbb\xbf{"a": 1}', b'{"a": "\xff"}'], ids=["bom", "latin-1"]
)
def test_json_results_text_mode_refuses_are_refused(tmp_path, content):
    from phyper import _collect

    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ValueError) as expected, open(path, encoding="utf-8") as stream:
        json.load(stream)
    with pytest.raises(type(expected.value)):
        _collect._load_json(str(path))


# ---------------------------------------------------- collect_from_disk in worker processes

_ODD_FILES = [
    b"epoch,loss,note\n1,0.5,a\n",
    b'epoch,loss\n1,"0.5"\n2,"1,5"\n',
    b"epoch,loss\n1,0.5\n2,0.25",
    b"epoch,loss\n",
    b"\xef\xbb\xbfepoch,loss\n1,0.5\n",
    b"epoch,loss\nfirst,high\n",
    None,  # no result file
]


def _damaged_store(instances, parser, contents, path_function):
    _write(instances, contents, path_function)
    parser.generate_instance_info_files(instances)
    folders = sorted((pathlib.Path(parser.hashed_resources_folder) / "all").iterdir())
    (folders[-1] / phyper.INFO_FILE).write_text("{not json")
    folders[-2].rename(folders[-2].with_name("f" * 32))
    os.symlink(folders[-3], folders[-3].with_name("e" * 32))
    return parser.hashed_resources_folder


@pytest.mark.parametrize(
    "name, files",
    [
        ("result.csv", [PLAIN] * 60 + _ODD_FILES * 3),
        ("result.json", [b'{"loss": 1}', b"null", b"[1, 2]", b'[{"a": 1}, {"a": 2}]', None] * 18),
        ("result.yaml", [b"loss: 1\n", b"- a: 1\n- a: 2\n", b"3\n", None] * 22),
    ],
    ids=["csv", "json", "yaml"],
)
def test_worker_processes_give_the_same_table(instances, parser, monkeypatch, name, files):
    def path_function(instance):
        return os.path.join(instance.get_resources_path(), name)

    root = _damaged_store(instances, parser, files, path_function)
    monkeypatch.setattr("phyper._collect._CHUNK", 7)  # many tasks, in order
    alone = phyper.collect_from_disk(root, "all", name, missing="ignore")

    def read_here(path):
        raise AssertionError(f"{path} read in the calling process, not in a worker")

    with monkeypatch.context() as here:
        for reader in ("read_bytes", "read_text", "read_folder_info"):
            here.setattr(f"phyper._collect.{reader}", read_here)
        together = phyper.collect_from_disk(root, "all", name, missing="ignore", workers=2)
    pd.testing.assert_frame_equal(together, alone)
    assert together.attrs["missing"] == alone.attrs["missing"] and alone.attrs["missing"]
    scanned = phyper.scan(root, "all")
    ok = set(scanned.hash[scanned.status == "ok"])
    assert len(ok) == 88 and set(alone.hash) <= ok  # not the corrupt, renamed or linked ones


def test_worker_processes_leave_a_callers_loader_to_the_caller(instances, parser):
    root = _damaged_store(instances, parser, [PLAIN] * 90, _result_path)
    seen = []

    def loader(path):  # not picklable, and never sent anywhere
        seen.append(path)
        return pd.read_csv(path).assign(doubled=lambda frame: frame.loss * 2)

    alone = phyper.collect_from_disk(root, "all", "result.csv", loader=loader)
    together = phyper.collect_from_disk(root, "all", "result.csv", loader=loader, workers=2)
    pd.testing.assert_frame_equal(together, alone)
    assert len(seen) == 2 * 88  # all but the corrupt and the renamed folder


@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "many"])
def test_workers_must_be_a_count_or_auto(parser, workers):
    with pytest.raises(ValueError, match="workers="):
        phyper.collect_from_disk(parser.hashed_resources_folder, "all", "x.csv", workers=workers)


def test_auto_starts_workers_only_for_many_folders_and_cores(instances, parser, monkeypatch):
    from phyper import _collect

    parser.generate_instance_info_files(instances)
    root = parser.hashed_resources_folder
    monkeypatch.setattr(os, "cpu_count", lambda: 12)
    monkeypatch.setattr(_collect, "AUTO_WORKERS_FROM", 90)
    assert _collect._workers_for(root, "all", "auto") == 8  # one per core, at most 8
    assert _collect._workers_for(root, "transformed_data", "auto") == 1  # 3 folders
    assert _collect._workers_for(root, "no_such_resource", "auto") == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert _collect._workers_for(root, "all", "auto") == 1
    assert _collect._workers_for(root, "all", 3) == 3
