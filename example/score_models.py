"""Step 4: the cross-validation score of every model (one job for the whole grid).

Each combination of the ``cross_validated_model`` dependencies (transformation, centering,
n_hidden_layers) was trained once per fold; its score is the mean over folds of the best
epoch's validation loss, and it is named by its ``cross_validated_model`` hash.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import pandas as pd

import phyper
from example import config, paths
from example.config import Instance
from example.train import save_table


def best_epoch(instance: Instance) -> pd.Series:
    """The metrics of the epoch whose weights were kept (the lowest validation loss)."""
    metrics = pd.read_csv(paths.training_metrics(instance))
    return metrics.loc[metrics.validation_loss.idxmin()]


def _plain(value: object) -> object:
    """A JSON value (numpy scalars become Python's)."""
    return value.item() if hasattr(value, "item") else value


def compute_score_for_each_model(instances: list[Instance], sweep: str) -> pd.DataFrame:
    """Score every cross-validated model; record the sweep file the scores come from."""
    names = instances[0].get_dependencies_for_resources("cross_validated_model")
    combinations = Instance.get_projections(instances, hyperparameter_names=names)
    rows = []
    for model_hash, combination in combinations.iterrows():
        folds = Instance.get_filtered_instances(instances, combination.to_dict())
        cv_k = folds[0].cv_k
        fold_numbers = Instance.get_projections(folds, ["cv_fold"]).cv_fold.to_list()
        if sorted(fold_numbers) != list(range(cv_k)):
            raise ValueError(
                f"model {model_hash} has folds {sorted(fold_numbers)}, expected 0..{cv_k - 1}"
            )
        assert {f.get_instance_hash("cross_validated_model") for f in folds} == {model_hash}
        best = pd.DataFrame([best_epoch(f) for f in folds])
        row = {
            "cross_validated_model_hash": model_hash,
            **combination.to_dict(),
            "average_validation_loss": float(best.validation_loss.mean()),
            "average_validation_accuracy": float(best.validation_accuracy.mean()),
            "n_folds": len(folds),
        }
        rows.append(row)
        # each model's score in its own folder too, with its metadata: `phyper status` and
        # `phyper describe` then see the cross-validated models as done
        Instance.generate_instance_info_files(folds[:1], resource_names=["cross_validated_model"])
        document = json.dumps({k: _plain(v) for k, v in row.items()}, indent=2)
        with phyper.atomic_output(paths.cross_validated_score(folds[0])) as temporary:
            pathlib.Path(temporary).write_text(document + "\n")
    scores = pd.DataFrame(rows).sort_values("average_validation_loss", kind="stable")
    save_table(scores, paths.cross_validation_scores())
    with phyper.atomic_output(paths.recorded_sweep()) as temporary:
        shutil.copyfile(config.resolve(sweep), temporary)
    return scores
