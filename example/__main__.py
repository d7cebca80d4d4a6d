"""The example's steps as a command line, one sub-command per Snakemake rule.

python -m example transform-data --hash <transformed_data hash> [--sweep FILE]
python -m example preprocess-data --hash <preprocessed_data hash> [--sweep FILE]
python -m example train-model --hash <instance hash> [--sweep FILE]
python -m example tune [--sampler tpe|random|grid|asha-tpe|asha-random] [--n-trials N] [--n-jobs J]
    [--seeds S] [--sweep FILE]
python -m example burr-train --hash <instance hash> [--sweep FILE] [--review-after EPOCHS]
python -m example review [--sweep FILE] [--after EPOCHS] [--seed N]
python -m example cross-validation-scores [--sweep FILE]
python -m example train-best-model [--sweep FILE]

``--sweep`` names the YAML sweep file the instances come from (default: config/default.yaml);
the Snakefile passes the one it was started with. ``train-model --hash`` also takes the hash of
a model trained outside the sweep (``review``'s, a search trial's): the instance is rebuilt from
its folder's metadata, with the sweep's non-key values.

``review`` trains one more model (the sweep's first, with seed 1 or ``--seed``) with a go/no-go
gate after ``--after`` epochs (default 5): it exits with code 3 while the gate waits, so
``make demo`` ends with a run in the dashboard's decision queue. ``phyper decide HASH --go``
(or the dashboard's Go), then ``train-model --hash HASH``, trains it on.
"""

from __future__ import annotations

import argparse
import os
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
INTERRUPTED_EXIT = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m example", description=__doc__)
    steps = parser.add_subparsers(dest="step", required=True)
    steps_names = [*PER_HASH_STEPS, "cross-validation-scores", "train-best-model", "tune", "review"]
    for step in steps_names:
        sub = steps.add_parser(step)
        sub.add_argument("--sweep", default=config.DEFAULT_SWEEP, help="the YAML sweep file")
        if step in PER_HASH_STEPS:
            sub.add_argument("--hash", "--instance-hash", dest="hash", required=True)
        if step == "burr-train":
            sub.add_argument("--review-after", type=int, help="halt at a go/no-go gate then")
        if step == "review":
            sub.add_argument("--after", type=int, default=5, help="epochs before the gate")
            sub.add_argument("--seed", type=int, default=1, help="the reviewed model's seed")
        if step == "tune":
            from example.search import SAMPLERS

            sub.add_argument("--sampler", choices=SAMPLERS, default="tpe")
            sub.add_argument("--n-trials", type=int, default=12)
            sub.add_argument("--n-jobs", type=int, default=1)
            sub.add_argument("--name", help="the study's name (default: iris-<sampler>)")
            sub.add_argument(
                "--seeds", type=int, default=1, help="run the search with seeds 0..S-1 (default 1)"
            )
    arguments = parser.parse_args(argv)
    if arguments.step == "tune":
        from example.search import describe, run_search

        if arguments.seeds < 1 or (arguments.name and arguments.seeds > 1):
            parser.error("--seeds must be 1 or more, and 1 with --name")
        for seed in range(arguments.seeds):
            study = run_search(
                arguments.sweep, arguments.sampler, arguments.n_trials, arguments.n_jobs,
                arguments.name, seed,
            )  # fmt: skip
            print(describe(study))
        return 0
    parser, instances = config.load(arguments.sweep)
    if arguments.step == "review":
        from example.train import review_model

        result = review_model(instances[0].replace(seed=arguments.seed), arguments.after)
        if result.status == "completed":
            print(f"review {run_line(result)}")
        return _training_exit_code(result)

    if arguments.step in PER_HASH_STEPS:
        resource = PER_HASH_STEPS[arguments.step]
        try:
            instance = config.Instance.get_instance_from_hash(arguments.hash, instances, resource)
        except LookupError:
            if arguments.step != "train-model":
                raise
            instance = _from_folder(parser, instances[0], arguments.hash)
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


def _from_folder(parser, like, instance_hash: str):
    """A model trained outside the sweep, from its folder's metadata; non-key values from
    ``like`` (the sweep's), which the metadata does not record."""
    from example.config import NonKeys

    instance = parser.load_instance_from_disk_by_hash(instance_hash)
    non_keys = [name for name in vars(NonKeys) if not name.startswith("_")]
    return instance.replace(**{name: getattr(like, name) for name in non_keys})


def _burr_train(instance, review_after: int | None) -> int:
    from example.burr_training import GATE, train_with_burr

    outcome = train_with_burr(instance, review_after=review_after)
    state = outcome["state"]
    print(f"burr-train {instance.get_instance_hash()}: {outcome['status']} {state['iterations']}")
    if outcome["status"] == "awaiting_decision":
        print(
            f"the application waits at gate {GATE!r}: " + decide_hint(instance.get_instance_hash()),
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


def decide_hint(run_hash: str) -> str:
    """How to answer the gate, with the commands as they can be typed here: phyper from this
    interpreter's environment (often not on PATH, e.g. .venv/bin), then this command again."""
    import shutil

    phyper = os.path.join(os.path.dirname(sys.executable), "phyper")
    if not os.path.exists(phyper) or shutil.which("phyper") == phyper:
        phyper = "phyper"
    elif not os.path.relpath(phyper).startswith(".."):
        phyper = os.path.relpath(phyper)
    again = " ".join(["python -m example", *sys.argv[1:]])
    return (
        f"answer with `{phyper} decide {run_hash[:12]} --go` (or --no-go), then run `{again}` again"
    )


def _training_exit_code(result) -> int:
    from phyper import tune

    if result.status == tune.AWAITING_DECISION:
        print(
            f"the run waits at gate {result.gate!r}: " + decide_hint(result.hash), file=sys.stderr
        )
        return AWAITING_DECISION_EXIT
    if result.status != tune.COMPLETED:
        print(
            f"the run ended {result.status.value}: {result.reason or result.error}", file=sys.stderr
        )
        return 1
    return 0


def run(argv: list[str] | None = None) -> int:
    """``main``, with Ctrl-C as one line on stderr and exit status 130 (as a shell reports
    SIGINT), no traceback: the run or study recorded where it stopped, and says how to go on."""
    try:
        return main(argv)
    except KeyboardInterrupt as interrupt:
        message = str(interrupt) or "interrupted; run the same command again to resume"
        print(f"python -m example: {message}", file=sys.stderr)
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(run())
