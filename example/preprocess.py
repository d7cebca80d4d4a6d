"""Step 2: center the transformed features (one job per ``preprocessed_data`` hash)."""

from __future__ import annotations

import os

from example import data, paths
from example.config import Instance


def preprocess_data(instance: Instance) -> str:
    arrays = data.load_arrays(paths.transformed_data(instance))
    features, labels = arrays["features"], arrays["labels"]
    if instance.centering:
        # the mean of the development rows only: the test rows stay unseen
        features = features - features[~data.test_mask(labels)].mean(axis=0)
    path = paths.preprocessed_data(instance)
    data.save_arrays(path, features=features, labels=labels)
    return path


def ensure_preprocessed(instance: Instance) -> None:
    """Run the transform and preprocess steps if the instance's input is missing (for the
    commands that train outside Snakemake: a search, a Burr application)."""
    from example.transform import transform_data

    if os.path.exists(paths.preprocessed_data(instance)):
        return
    if not os.path.exists(paths.transformed_data(instance)):
        transform_data(instance)
    preprocess_data(instance)
