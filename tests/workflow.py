"""Running the example workflow for real, in a temporary copy of the repository."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def copy_workspace(target: pathlib.Path) -> pathlib.Path:
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", target / "Snakefile")
    shutil.copytree(
        ROOT / "example", target / "example", ignore=shutil.ignore_patterns("__pycache__")
    )
    return target


def run_snakemake(workspace: pathlib.Path, *arguments: str, config: dict[str, object]) -> str:
    """Run Snakemake in ``workspace``; return its whole output (it fails loudly)."""
    command = [sys.executable, "-m", "snakemake", "--cores", "2", *arguments]
    if config:
        command += ["--config", *(f"{k}={v}" for k, v in config.items())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHYPER_EXAMPLE_")}
    result = subprocess.run(
        command, cwd=workspace, capture_output=True, text=True, env=env, timeout=1800
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
