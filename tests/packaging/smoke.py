"""The built wheel, installed into a fresh virtual environment outside the repository, works.

    python tests/packaging/smoke.py [--dist DIR] [--keep]

Builds the wheel and the sdist (``python -m build``) into DIR (default: a temporary folder),
creates a virtual environment in a temporary folder, installs the wheel there with its core
dependencies, and runs, from a temporary working directory: ``import phyper`` (from the
environment, not the clone), ``phyper --help``, a grid of three instances with their folders,
and a two-epoch ``tune.Run``. This catches what the editable install of the clone hides:
missing package data, a wrong distribution name, a dependency not declared.

``make wheel-smoke`` runs it (``make test`` depends on it). Not collected by pytest: the file's
name does not start with ``test_``, and importing it runs nothing.
"""

from __future__ import annotations

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import textwrap
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DISTRIBUTION = "phyper-ml"

# Runs inside the fresh environment, in an empty working directory.
CHECKS = textwrap.dedent(
    """
    import importlib.metadata, os, subprocess, sys

    import phyper
    from phyper import tune

    repository = sys.argv[1]
    where = os.path.realpath(phyper.__file__)
    assert not where.startswith(os.path.realpath(repository) + os.sep), (
        f"phyper was imported from the clone ({where}), not from the installed wheel"
    )
    assert phyper.__version__ == importlib.metadata.version("{distribution}"), phyper.__version__
    assert os.path.isfile(os.path.join(os.path.dirname(where), "py.typed")), "py.typed missing"

    command = os.path.join(os.path.dirname(sys.executable), "phyper")
    shown = subprocess.run([command, "--help"], capture_output=True, text=True, check=True)
    assert "usage: phyper" in shown.stdout, shown.stdout

    class Instance(phyper.Parser):
        seed = 0
        transformation = "identity"

    parser = Instance(hashed_resources_folder="derived_data")
    parser.register_new_resource(name="transformed_data", dependencies=["transformation"])
    grid = parser.get_instances_from_dictionary({"seed": [0, 1, 2]})
    assert len(grid) == 3, grid
    Instance.generate_instance_info_files(grid)
    for instance in grid:
        info = os.path.join(instance.get_resources_path(), phyper.INFO_FILE)
        assert os.path.isfile(info), info
    assert len(os.listdir(os.path.join("derived_data", "all"))) == 3

    with tune.Run(grid[0], stop=tune.max_epochs(2)) as run:
        for epoch in run.epochs():
            run.report(loss=1.0 / epoch)
    assert run.result.status == tune.COMPLETED and run.result.epochs == 2, run.result
    listed = subprocess.run(
        [command, "runs", "--root", "derived_data", "--format", "csv"],
        capture_output=True, text=True, check=True,
    )
    assert grid[0].get_instance_hash() in listed.stdout, listed.stdout
    print(f"smoke test passed: phyper {phyper.__version__} from {os.path.dirname(where)}")
    """
).replace("{distribution}", DISTRIBUTION)


def _run(command: list[str], **options: object) -> None:
    subprocess.run(command, check=True, **options)  # type: ignore[call-overload]


def build(dist: str) -> str:
    """Build the wheel and the sdist into ``dist``; return the wheel's path."""
    _run(
        [sys.executable, "-m", "build", "--outdir", dist, REPOSITORY],
        stdout=subprocess.DEVNULL,
    )
    wheels = glob.glob(os.path.join(dist, f"{DISTRIBUTION.replace('-', '_')}-*.whl"))
    sdists = glob.glob(os.path.join(dist, f"{DISTRIBUTION.replace('-', '_')}-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise SystemExit(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    return wheels[0]


def smoke(wheel: str, work: str) -> None:
    """Install ``wheel`` into a new environment under ``work`` and run the checks there."""
    environment = os.path.join(work, "venv")
    # without pip of its own: this pip installs into it (--python), which saves ensurepip's
    # 10 s; --no-compile saves byte-compiling numpy and pandas (20 s here); pip's cache does
    # the rest
    _run([sys.executable, "-m", "venv", "--without-pip", environment])
    python = os.path.join(environment, "bin", "python")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-compile", wheel])
    checks = os.path.join(work, "checks.py")
    with open(checks, "w", encoding="utf-8") as stream:
        stream.write(CHECKS)
    empty = os.path.join(work, "project")
    os.mkdir(empty)
    # a clean environment: nothing from the clone on the path
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([python, checks, REPOSITORY], cwd=empty, env=env)
    # the getting-started page, as a new user follows it: its blocks in this environment, run
    # by the docs' own runner (standard library only), output compared with the page's
    runner = os.path.join(REPOSITORY, "tests", "run_docs.py")
    page = os.path.join(REPOSITORY, "docs", "getting-started.md")
    _run([python, runner, page], cwd=empty, env=env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", help="build into this folder (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders")
    arguments = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="phyper-smoke-") as work:
        dist = arguments.dist or os.path.join(work, "dist")
        wheel = build(dist)
        built = time.perf_counter()
        smoke(wheel, work)
        if arguments.keep:
            kept = tempfile.mkdtemp(prefix="phyper-smoke-kept-")
            os.rename(work, kept)
            os.mkdir(work)  # for TemporaryDirectory's cleanup
            print(f"kept {kept}")
    print(
        f"built in {built - start:.1f} s, installed and checked in "
        f"{time.perf_counter() - built:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
