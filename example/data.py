"""The Iris data (bundled with scikit-learn: no download) and its fixed splits."""

from __future__ import annotations

import numpy as np

import phyper

CLASSES = np.array([0, 1, 2])
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # the splits are part of the experiment's design, not a hyperparameter


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris as load

    features, labels = load(return_X_y=True)
    return features, labels


def test_mask(labels: np.ndarray) -> np.ndarray:
    """True for the held-out test rows (stratified, the same for every instance)."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(labels))
    _, test_rows = train_test_split(
        rows, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    mask = np.zeros(len(labels), dtype=bool)
    mask[test_rows] = True
    return mask


def fold_masks(labels: np.ndarray, cv_k: int, cv_fold: int) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation masks of one cross-validation fold (test rows excluded)."""
    from sklearn.model_selection import StratifiedKFold

    if not 0 <= cv_fold < cv_k:
        raise ValueError(f"cv_fold={cv_fold} is outside 0..{cv_k - 1} (cv_k={cv_k})")
    development = np.flatnonzero(~test_mask(labels))
    folds = StratifiedKFold(n_splits=cv_k, shuffle=True, random_state=SPLIT_SEED)
    train_rows, validation_rows = list(folds.split(development, labels[development]))[cv_fold]
    train = np.zeros(len(labels), dtype=bool)
    validation = np.zeros(len(labels), dtype=bool)
    train[development[train_rows]] = True
    validation[development[validation_rows]] = True
    return train, validation


def save_arrays(path: str, **arrays: np.ndarray) -> None:
    """Save arrays to ``path`` (created folders), renamed into place when complete."""
    with phyper.atomic_output(path) as temporary:
        np.savez(temporary, **arrays)


def load_arrays(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}
