"""Fixtures of the tune tests: a results root and the tiny numpy trainer's declaration."""

from __future__ import annotations

import os
import sys

import pytest

from .trainer import Declaration, make_instance

WORKTREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TRAINER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trainer.py")
PYTHON = sys.executable


@pytest.fixture
def root(tmp_path) -> str:
    return str(tmp_path / "derived_data")


@pytest.fixture
def instance(root) -> Declaration:
    return make_instance(root, n_epochs=12)
