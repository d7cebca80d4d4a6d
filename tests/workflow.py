"""Running the example workflow for real, in a temporary copy of the repository."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def copy_workspace(target: pathlib.Path) -> pathlib.Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", target / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("example", "config", "profiles"):
        shutil.copytree(ROOT / folder, target / folder, ignore=ignore)
    return target


def write_sweep(
    workspace: pathlib.Path,
    name: str,
    fixed: dict[str, object] | None = None,
    grid: dict[str, object] | None = None,
    base: str = "default",
) -> str:
    """A variant of one of the example's sweep files, written into the workspace; its path
    relative to the workspace."""
    document = yaml.safe_load((workspace / "config" / f"{base}.yaml").read_text())
    document["fixed"] = {**document.get("fixed", {}), **(fixed or {})}
    document["grid"] = {**document.get("grid", {}), **(grid or {})}
    path = pathlib.Path("config", f"{name}.yaml")
    (workspace / path).write_text(yaml.safe_dump(document))
    return str(path)


def environment() -> dict[str, str]:
    """The job commands run `python` from the PATH: this interpreter's environment first."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return {**os.environ, "PATH": path}


SEARCH_TRIALS = 4  # per sampler: the tests check the search's mechanics, not its quality


def run_snakemake(workspace: pathlib.Path, *arguments: str, sweep: str | None = None) -> str:
    """Run Snakemake in ``workspace`` (with a sweep file, else the profile's default); return
    its whole output (it fails loudly)."""
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *arguments]
    command += ["--config", f"search_trials={SEARCH_TRIALS}"]
    if sweep:
        command += ["--configfile", sweep]
    result = subprocess.run(
        command, cwd=workspace, capture_output=True, text=True, env=environment(), timeout=1800
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(arguments)} failed:\n{output[-6000:]}")
    return output


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table Snakemake prints: rule -> number of jobs ({} if nothing to do)."""
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts
