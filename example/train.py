"""Step 3: train a neural network epoch by epoch (one job per instance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import phyper
from example import data, paths
from example.config import Instance


def fit_epochs(
    instance: Instance,
    features: np.ndarray,
    labels: np.ndarray,
    train: np.ndarray,
    evaluate: np.ndarray,
    evaluation_name: str,
):
    """Train with ``partial_fit``, one epoch at a time, recording metrics after each epoch."""
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=(16,) * instance.n_hidden_layers,
        learning_rate_init=instance.learning_rate,
        batch_size=instance.batch_size,
        random_state=instance.seed,
    )
    rows = []
    for epoch in range(1, instance.n_epochs + 1):
        model.partial_fit(features[train], labels[train], classes=data.CLASSES)
        probabilities = model.predict_proba(features[evaluate])
        rows.append(
            {
                "epoch": epoch,
                "train_loss": float(model.loss_),
                f"{evaluation_name}_loss": log_loss(
                    labels[evaluate], probabilities, labels=data.CLASSES
                ),
                f"{evaluation_name}_accuracy": accuracy_score(
                    labels[evaluate], probabilities.argmax(axis=1)
                ),
            }
        )
        if epoch % instance.log_interval == 0 or epoch == instance.n_epochs:
            print(
                f"  epoch {epoch}: "
                + ", ".join(f"{k}={v:.4f}" for k, v in rows[-1].items() if k != "epoch")
            )
    return model, pd.DataFrame(rows)


def save_model(model, path: str) -> None:
    arrays = {f"coef_{i}": c for i, c in enumerate(model.coefs_)}
    arrays.update({f"intercept_{i}": b for i, b in enumerate(model.intercepts_)})
    data.save_arrays(path, **arrays)


def save_table(table: pd.DataFrame, path: str) -> None:
    with phyper.atomic_output(path) as temporary:
        table.to_csv(temporary, index=False)


def train_model(instance: Instance) -> str:
    arrays = data.load_arrays(paths.preprocessed_data(instance))
    features, labels = arrays["features"], arrays["labels"]
    train, validation = data.fold_masks(labels, instance.cv_k, instance.cv_fold)
    model, metrics = fit_epochs(instance, features, labels, train, validation, "validation")
    save_model(model, paths.model_weights(instance))
    save_table(metrics, paths.training_metrics(instance))
    return paths.training_metrics(instance)
