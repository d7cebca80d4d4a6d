"""Core speed: building + hashing, hash lookup, metadata writes, memory per instance.

Every figure is reported as a ratio to one ``json.dumps(sort_keys=True)`` + xxh3-128 of the same
dict, measured in the same run, so figures compare across machines.

    python bench/bench_core.py [--instances 300000] [--metadata 10000] [--memory 1000000]

Lookups are timed in random order (a fixed seed), as a workflow asks for them.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import shutil
import tempfile
import time
import tracemalloc

import xxhash

import phyper


class NonKeys:
    n_epochs = 100
    learning_rate = 0.001


class Instance(phyper.Parser, NonKeys):
    seed = 0
    n_hidden_layers = 3
    cv_fold = 0
    transformation = "identity"
    centering = False
    dropout = 0.0


def make_parser(folder: str) -> Instance:
    parser = Instance(hashed_resources_folder=folder)
    parser.register_new_resource("transformed_data", ["transformation"])
    parser.register_new_resource("preprocessed_data", ["transformation", "centering"])
    parser.register_new_resource(
        "cross_validated_model", ["transformation", "centering", "n_hidden_layers", "dropout"]
    )
    return parser


def grid(n: int) -> dict[str, list[object]]:
    per_dropout = 10 * 5 * 10 * 3 * 2  # 3,000 combinations of the other five keys
    n_dropouts = max(1, -(-n // per_dropout))  # ceil, then the caller trims to n
    return {
        "seed": list(range(10)),
        "n_hidden_layers": [1, 2, 3, 4, 5],
        "cv_fold": list(range(10)),
        "transformation": ["identity", "log", "square"],
        "centering": [True, False],
        "dropout": [i / n_dropouts for i in range(n_dropouts)],
    }


def best_of(repeats: int, function) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--instances", type=int, default=300_000)
    arguments.add_argument("--metadata", type=int, default=10_000)
    arguments.add_argument("--memory", type=int, default=1_000_000, help="instances, memory")
    arguments.add_argument("--repeats", type=int, default=5)
    options = arguments.parse_args()

    folder = tempfile.mkdtemp(prefix="phyper-bench-")
    parser = make_parser(folder)
    the_grid = grid(options.instances)
    resources = [None, *parser.get_resource_names()]  # the full hash and the 3 resources
    built = parser.get_instances_from_dictionary(the_grid)
    # what a builder returns (an InstanceList), trimmed to the size asked for
    sample = (
        built
        if len(built) == options.instances
        else phyper.InstanceList(built[: options.instances])
    )
    del built
    n = len(sample)
    dicts = [i.to_dict(key_only=True) for i in sample]

    def baseline() -> None:
        for d in dicts:
            xxhash.xxh3_128_hexdigest(json.dumps(d, sort_keys=True).encode())

    def build_and_hash() -> None:
        for instance in parser.get_instances_from_dictionary(the_grid):
            for resource in resources:
                instance.get_instance_hash(resource)

    hashes = [i.get_instance_hash() for i in sample]
    random.Random(0).shuffle(hashes)
    Instance.get_instance_from_hash(hashes[0], sample)  # the one index build, timed below

    def index_build() -> None:
        phyper._lookup._build(sample, None)

    def lookups() -> None:
        find = Instance.get_instance_from_hash
        for h in hashes:
            find(h, sample)

    plain = list(sample)  # a list phyper is not told about: every hit checked by identity
    Instance.get_instance_from_hash(hashes[0], plain)

    def plain_lookups() -> None:
        find = Instance.get_instance_from_hash
        for h in hashes:
            find(h, plain)

    by_hash = {i.get_instance_hash(): i for i in sample}

    def dict_lookups() -> None:  # the floor: a plain dict, same keys, same order
        get = by_hash.__getitem__
        for h in hashes:
            get(h)

    # the baseline and the measured take turns, round after round, and each keeps its best
    # round: a noisy spell on this shared machine then cannot favour one side of a ratio
    timed = [baseline, build_and_hash, index_build, lookups, plain_lookups, dict_lookups]
    best = dict.fromkeys(timed, float("inf"))
    for _ in range(options.repeats):
        for function in timed:
            best[function] = min(best[function], best_of(1, function))
    t_json, t_build, t_index, t_lookup, t_plain, t_dict = (best[f] / n for f in timed)
    plain.clear()
    by_hash.clear()

    gc.collect()
    tracemalloc.start()
    kept = parser.get_instances_from_dictionary(grid(options.memory))[: options.memory]
    for instance in kept:
        instance.get_instance_hash()
    n_memory = len(kept)
    memory = tracemalloc.get_traced_memory()[0] / n_memory
    tracemalloc.stop()
    del kept

    meta = parser.get_instances_from_dictionary(grid(options.metadata))[: options.metadata]
    start = time.perf_counter()
    first = Instance.generate_instance_info_files(meta)
    t_meta_first = time.perf_counter() - start
    start = time.perf_counter()
    again = Instance.generate_instance_info_files(meta)
    t_meta_again = time.perf_counter() - start
    shutil.rmtree(folder)

    print(f"instances: {n:,} (6 key + 2 non-key hyperparameters, 3 resources)")
    print(f"json.dumps(sort_keys=True) + xxh3 per dict:   {t_json * 1e6:7.2f} us  (1.00x)")
    print(
        f"build + full hash + 3 resource hashes:        {t_build * 1e6:7.2f} us  "
        f"({t_build / t_json:.2f}x; target <= 1.5x)"
    )
    print(
        f"hash -> instance lookup:                      {t_lookup * 1e6:7.2f} us  "
        f"({t_lookup / t_json:.2f}x; target <= 0.25x; random order, a builder's list)"
    )
    print(
        f"  the same in a plain list (hits verified):   {t_plain * 1e6:7.2f} us  "
        f"({t_plain / t_json:.2f}x)"
    )
    print(
        f"  the same keys in a plain dict:              {t_dict * 1e6:7.2f} us  "
        f"({t_dict / t_json:.2f}x)"
    )
    print(
        f"index build, once per collection, per item:   {t_index * 1e6:7.2f} us  "
        f"({t_index / t_json:.2f}x)"
    )
    print(
        f"memory per instance (hashes cached):          {memory:7.0f} bytes  "
        f"({n_memory:,} instances; target < 1024)"
    )
    print(
        f"metadata, {len(meta):,} instances: first {t_meta_first:.2f} s "
        f"({first.written:,} files), unchanged {t_meta_again:.2f} s ({again.unchanged:,} files)"
    )


if __name__ == "__main__":
    main()
