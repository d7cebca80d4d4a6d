"""Step 1: transform the features (one job per ``transformed_data`` hash)."""

from __future__ import annotations

import numpy as np

from example import data, paths
from example.config import Instance

TRANSFORMATIONS = {
    "identity": lambda x: x,
    "log": np.log,
    "square": np.square,
    "sqrt": np.sqrt,
}


def transform_data(instance: Instance) -> str:
    try:
        function = TRANSFORMATIONS[instance.transformation]
    except KeyError:
        raise ValueError(
            f"unknown transformation {instance.transformation!r}; "
            f"expected one of {sorted(TRANSFORMATIONS)}"
        ) from None
    features, labels = data.load_iris()
    path = paths.transformed_data(instance)
    data.save_arrays(path, features=function(features), labels=labels)
    return path
