"""Step 5: retrain the best model on training + validation data and test it once."""

from __future__ import annotations

import json
import pathlib

import pandas as pd

import phyper
from example import data, paths
from example.config import Instance
from example.train import fit_epochs, save_table


def train_best_model(instances: list[Instance]) -> dict[str, object]:
    scores = pd.read_csv(paths.cross_validation_scores())
    best_hash = scores.sort_values("average_validation_loss", kind="stable").iloc[0]
    best_hash = best_hash["cross_validated_model_hash"]
    best = Instance.get_instance_from_hash(best_hash, instances, "cross_validated_model")
    arrays = data.load_arrays(paths.preprocessed_data(best))
    features, labels = arrays["features"], arrays["labels"]
    test = data.test_mask(labels)
    _, curve = fit_epochs(best, features, labels, ~test, test, "test")
    save_table(curve, paths.best_model_learning_curve())
    summary = {
        "cross_validated_model_hash": best_hash,
        "hyperparameters": {
            name: getattr(best, name)
            for name in best.get_dependencies_for_resources("cross_validated_model")
        },
        "n_epochs": best.n_epochs,
        "test_loss": float(curve.test_loss.iloc[-1]),
        "test_accuracy": float(curve.test_accuracy.iloc[-1]),
    }
    with phyper.atomic_output(paths.best_model_test_metrics()) as temporary:
        pathlib.Path(temporary).write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary
