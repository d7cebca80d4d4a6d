"""Snakemake with phyper's hash wildcards against the same DAG written with Paramspace.

A 3-rule chain (transform -> preprocess -> train) plus an aggregate, at N instances:

- dry run (``snakemake -n``) time for both spellings of the workflow;
- a real ``--cores 2`` run of ~2,000 jobs (touch commands), with the default scheduler and with
  ``--scheduler greedy``.

    python bench/bench_snakemake.py [--instances 10000] [--run-jobs 2000]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

CONFIG = """
import phyper

class Instance(phyper.Parser):
    seed = 0
    transformation = "identity"
    centering = False
    depth = 1
    fold = 0

parser = Instance(hashed_resources_folder="out")
parser.register_new_resource("transformed", ["transformation"])
parser.register_new_resource("preprocessed", ["transformation", "centering"])
SEEDS = {seeds}
grid = dict(
    transformation=["identity", "log", "square", "sqrt"],
    centering=[False, True],
    depth=[1, 2, 3, 4, 5],
    fold=[0, 1, 2, 3, 4],
    seed=list(range(SEEDS)),
)
instances = parser.get_instances_from_dictionary(grid)
"""

PHYPER_SNAKEFILE = """
import os
from phyper.snakemake import pattern, targets, upstream, wildcard_constraints as hashes
from config import instances, parser

def transformed(i): return os.path.join(i.get_resources_path("transformed"), "data.txt")
def preprocessed(i): return os.path.join(i.get_resources_path("preprocessed"), "data.txt")
def model(i): return os.path.join(i.get_resources_path(), "metrics.txt")

wildcard_constraints: **hashes(parser)

rule all:
    input: "out/summary.txt"

rule transform:
    output: pattern(transformed, instances, "transformed")
    shell: "touch {output}"

rule preprocess:
    input: upstream(transformed, instances, "preprocessed")
    output: pattern(preprocessed, instances, "preprocessed")
    shell: "touch {output}"

rule train:
    input: upstream(preprocessed, instances)
    output: pattern(model, instances)
    shell: "touch {output}"

rule aggregate:
    input: targets(model, instances)
    output: "out/summary.txt"
    shell: "touch {output}"
"""

PARAMSPACE_SNAKEFILE = """
from snakemake.utils import Paramspace
from config import instances, Instance

keys = ["transformation", "centering", "depth", "fold", "seed"]
table = Instance.get_df_of_instances(instances)[keys].reset_index(drop=True)
space = Paramspace(table)
space_t = Paramspace(table[keys[:1]].drop_duplicates().reset_index(drop=True))
space_p = Paramspace(table[keys[:2]].drop_duplicates().reset_index(drop=True))

rule all:
    input: "out/summary.txt"

rule transform:
    output: f"out/transformed/{space_t.wildcard_pattern}/data.txt"
    shell: "touch {output}"

rule preprocess:
    input: "out/transformed/transformation~{transformation}/data.txt"
    output: f"out/preprocessed/{space_p.wildcard_pattern}/data.txt"
    shell: "touch {output}"

rule train:
    input: "out/preprocessed/transformation~{transformation}/centering~{centering}/data.txt"
    output: f"out/models/{space.wildcard_pattern}/metrics.txt"
    shell: "touch {output}"

rule aggregate:
    input: expand("out/models/{params}/metrics.txt", params=space.instance_patterns)
    output: "out/summary.txt"
    shell: "touch {output}"
"""


def make_workflow(folder: pathlib.Path, snakefile: str, seeds: int) -> pathlib.Path:
    folder.mkdir(parents=True)
    (folder / "config.py").write_text(textwrap.dedent(CONFIG.format(seeds=seeds)))
    (folder / "Snakefile").write_text(textwrap.dedent(snakefile))
    return folder


def snakemake(folder: pathlib.Path, *arguments: str) -> float:
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "all", *arguments]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed in {folder}:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--instances", type=int, default=10_000)
    arguments.add_argument("--run-jobs", type=int, default=2_000)
    options = arguments.parse_args()
    per_seed = 4 * 2 * 5 * 5
    root = pathlib.Path(tempfile.mkdtemp(prefix="phyper-bench-smk-"))
    try:
        seeds = max(1, options.instances // per_seed)
        n = seeds * per_seed
        jobs = n + 4 + 8 + 2
        phyper_flow = make_workflow(root / "phyper", PHYPER_SNAKEFILE, seeds)
        paramspace_flow = make_workflow(root / "paramspace", PARAMSPACE_SNAKEFILE, seeds)
        t_phyper = min(snakemake(phyper_flow, "-n") for _ in range(2))
        t_paramspace = min(snakemake(paramspace_flow, "-n") for _ in range(2))
        print(f"dry run, {n:,} instances ({jobs:,} jobs):")
        print(f"  phyper hash wildcards: {t_phyper:6.1f} s  ({t_phyper / jobs * 1e3:.2f} ms/job)")
        print(
            f"  Paramspace:            {t_paramspace:6.1f} s  "
            f"({t_paramspace / jobs * 1e3:.2f} ms/job)"
        )
        print(f"  ratio phyper / Paramspace: {t_phyper / t_paramspace:.2f}x (target <= 1.2x)")

        run_seeds = max(1, options.run_jobs // per_seed)
        run_jobs = run_seeds * per_seed + 4 + 8 + 2
        print(f"real run, --cores 2, {run_jobs:,} jobs (touch commands):")
        for label, extra in (
            ("default scheduler", ()),
            ("--scheduler greedy", ("--scheduler", "greedy")),
        ):
            flow = make_workflow(root / f"run-{len(extra)}", PHYPER_SNAKEFILE, run_seeds)
            elapsed = snakemake(flow, *extra)
            print(f"  {label:20s} {elapsed:6.1f} s  ({elapsed / run_jobs * 1e3:.1f} ms/job)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
