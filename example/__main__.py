"""The example's steps as a command line, one sub-command per Snakemake rule.

python -m example transform-data --hash <transformed_data hash>
python -m example preprocess-data --hash <preprocessed_data hash>
python -m example train-model --hash <instance hash>
python -m example cross-validation-scores
python -m example train-best-model
"""

from __future__ import annotations

import argparse
import sys

from example.config import Instance, instances

# sub-command -> (resource whose hash names the job, or None for the full instance)
PER_HASH_STEPS = {
    "transform-data": "transformed_data",
    "preprocess-data": "preprocessed_data",
    "train-model": None,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m example", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    for step in PER_HASH_STEPS:
        sub = steps.add_parser(step)
        sub.add_argument("--hash", "--instance-hash", dest="hash", required=True)
    steps.add_parser("cross-validation-scores")
    steps.add_parser("train-best-model")
    arguments = parser.parse_args(argv)

    if arguments.step in PER_HASH_STEPS:
        resource = PER_HASH_STEPS[arguments.step]
        instance = Instance.get_instance_from_hash(arguments.hash, instances, resource)
        # the folder describes itself: its metadata file is written beside the results
        Instance.generate_instance_info_files([instance], resource_names=[resource])
        if arguments.step == "transform-data":
            from example.transform import transform_data as run
        elif arguments.step == "preprocess-data":
            from example.preprocess import preprocess_data as run
        else:
            from example.train import train_model as run
        print(f"{arguments.step} {arguments.hash}: {run(instance)}")
    elif arguments.step == "cross-validation-scores":
        from example.score_models import compute_score_for_each_model

        scores = compute_score_for_each_model(instances)
        print(scores.head().to_string(index=False))
    else:
        from example.best_model import train_best_model

        summary = train_best_model(instances)
        print(f"best model {summary['cross_validated_model_hash']}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
