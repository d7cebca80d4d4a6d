"""Every path of the pipeline, in one place, derived from instances."""

from __future__ import annotations

import os

from example.config import Instance

RESULTS = "results"


def transformed_data(instance: Instance) -> str:
    return os.path.join(instance.get_resources_path("transformed_data"), "transformed_data.npz")


def preprocessed_data(instance: Instance) -> str:
    return os.path.join(instance.get_resources_path("preprocessed_data"), "preprocessed_data.npz")


def model_weights(instance: Instance) -> str:
    return os.path.join(instance.get_resources_path(), "model_weights.npz")


def run_metrics(instance: Instance) -> str:
    """The metric log ``tune.Run`` appends to while the model trains."""
    return os.path.join(instance.get_resources_path(), "metrics.csv")


def training_metrics(instance: Instance) -> str:
    return os.path.join(instance.get_resources_path(), "training_metrics.csv")


def recorded_sweep() -> str:
    """The sweep file the last workflow run used, copied beside its results."""
    return os.path.join(RESULTS, "sweep.yaml")


def cross_validated_score(instance: Instance) -> str:
    """One cross-validated model's score, in its own hash folder (the store says it is done)."""
    return os.path.join(instance.get_resources_path("cross_validated_model"), "score.json")


def cross_validation_scores() -> str:
    return os.path.join(RESULTS, "cross_validation_scores.csv")


def best_model_test_metrics() -> str:
    return os.path.join(RESULTS, "best_model", "test_metrics.json")


def best_model_learning_curve() -> str:
    return os.path.join(RESULTS, "best_model", "learning_curve.csv")


def search_trials(sampler: str) -> str:
    """The trials table of the example's search with one sampler."""
    return os.path.join(RESULTS, "search", f"{sampler}.csv")


def search_best(sampler: str) -> str:
    return os.path.join(RESULTS, "search", f"{sampler}-best.json")


def figures() -> str:
    return os.path.join(RESULTS, "figures")


def notebook_html() -> str:
    return os.path.join(RESULTS, "results.html")
