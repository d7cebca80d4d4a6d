"""The example's steps as a command line, one sub-command per Snakemake rule.

python -m example transform-data --hash <transformed_data hash> [--sweep FILE]
python -m example preprocess-data --hash <preprocessed_data hash> [--sweep FILE]
python -m example train-model --hash <instance hash> [--sweep FILE]
python -m example tune [--sampler tpe|random|grid] [--n-trials N] [--n-jobs J] [--sweep FILE]
python -m example burr-train --hash <instance hash> [--sweep FILE] [--review-after EPOCHS]
python -m example cross-validation-scores [--sweep FILE]
python -m example train-best-model [--sweep FILE]

``--sweep`` names the YAML sweep file the instances come from (default: config/default.yaml);
the Snakefile passes the one it was started with.
"""

from __future__ import annotations

import argparse
import sys

from example import config

# sub-command -> (resource whose hash names the job, or None for the full instance)
PER_HASH_STEPS = {
    "transform-data": "transformed_data",
    "preprocess-data": "preprocessed_data",
    "train-model": None,
    "burr-train": None,  # the same model as an Apache Burr application (phyper[burr])
}
# a training run that stopped at a go/no-go gate, waiting for `phyper decide`
AWAITING_DECISION_EXIT = 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m example", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    for step in [*PER_HASH_STEPS, "cross-validation-scores", "train-best-model", "tune"]:
        sub = steps.add_parser(step)
        sub.add_argument("--sweep", default=config.DEFAULT_SWEEP, help="the YAML sweep file")
        if step in PER_HASH_STEPS:
            sub.add_argument("--hash", "--instance-hash", dest="hash", required=True)
        if step == "burr-train":
            sub.add_argument("--review-after", type=int, help="halt at a go/no-go gate then")
        if step == "tune":
            sub.add_argument("--sampler", choices=["tpe", "random", "grid"], default="tpe")
            sub.add_argument("--n-trials", type=int, default=12)
            sub.add_argument("--n-jobs", type=int, default=1)
            sub.add_argument("--name", help="the study's name (default: iris-<sampler>)")
    arguments = parser.parse_args(argv)
    if arguments.step == "tune":
        from example.search import describe, run_search

        study = run_search(
            arguments.sweep, arguments.sampler, arguments.n_trials, arguments.n_jobs, arguments.name
        )
        print(describe(study))
        return 0
    _, instances = config.load(arguments.sweep)

    if arguments.step in PER_HASH_STEPS:
        resource = PER_HASH_STEPS[arguments.step]
        instance = config.Instance.get_instance_from_hash(arguments.hash, instances, resource)
        # the folder describes itself: its metadata file is written beside the results
        config.Instance.generate_instance_info_files([instance], resource_names=[resource])
        if arguments.step == "burr-train":
            return _burr_train(instance, arguments.review_after)
        if arguments.step == "transform-data":
            from example.transform import transform_data as run
        elif arguments.step == "preprocess-data":
            from example.preprocess import preprocess_data as run
        else:
            from example.train import train_model as run
        result = run(instance)
        if arguments.step == "train-model":
            print(f"{arguments.step} {run_line(result)}")  # one line per run in the log
            return _training_exit_code(result)
        print(f"{arguments.step} {arguments.hash}: {result}")
    elif arguments.step == "cross-validation-scores":
        from example.score_models import compute_score_for_each_model

        scores = compute_score_for_each_model(instances, arguments.sweep)
        print(scores.head().to_string(index=False))
    else:
        from example.best_model import train_best_model

        summary = train_best_model(instances)
        print(f"best model {summary['cross_validated_model_hash']}: {summary}")
    return 0


def _burr_train(instance, review_after: int | None) -> int:
    from example.burr_training import GATE, train_with_burr

    outcome = train_with_burr(instance, review_after=review_after)
    state = outcome["state"]
    print(f"burr-train {instance.get_instance_hash()}: {outcome['status']} {state['iterations']}")
    if outcome["status"] == "awaiting_decision":
        print(
            f"the application waits at gate {GATE!r}: answer with `phyper decide "
            f"{instance.get_instance_hash()[:12]} --go` (or --no-go), then run this again",
            file=sys.stderr,
        )
        return AWAITING_DECISION_EXIT
    print(f"best epoch {state['best_epoch']}, stopped by {state['stopped_by']}")
    return 0


def run_line(result) -> str:
    """A finished run in one line (a RunResult's repr is about 700 characters):

    >>> from phyper import tune
    >>> result = tune.RunResult(hash="35df4a67", folder="f", status=tune.COMPLETED,
    ...     epochs=40, stopped_by="patience", reason="", best_epoch=31, best_value=0.05123,
    ...     monitor="validation_loss")
    >>> run_line(result)
    '35df4a67: completed after 40 epochs (patience), best validation_loss 0.05123 at epoch 31'
    """
    # the full hash: the log is searched for it (and the job's files are named by it)
    text = f"{result.hash}: {result.status.value} after {result.epochs} epochs"
    if result.stopped_by:
        text += f" ({result.stopped_by})"
    if result.best_value is not None:
        text += f", best {result.monitor} {result.best_value:.4g} at epoch {result.best_epoch}"
    return text


def _training_exit_code(result) -> int:
    from phyper import tune

    if result.status == tune.AWAITING_DECISION:
        print(
            f"the run waits at gate {result.gate!r}: answer with "
            f"`phyper decide {result.hash[:12]} --go` (or --no-go), then run this again",
            file=sys.stderr,
        )
        return AWAITING_DECISION_EXIT
    if result.status != tune.COMPLETED:
        print(
            f"the run ended {result.status.value}: {result.reason or result.error}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
