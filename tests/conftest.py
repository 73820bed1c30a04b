"""Shared pytest fixtures for the linclass test suite."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _real_data_root() -> Path | None:
    value = os.environ.get("LINCLASS_DATA_DIR")
    if not value:
        return None
    root = Path(value)
    return root if (root / "cifar-10-batches-py" / "data_batch_1").exists() else None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top folder."""
    return ROOT


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """Folder holding the real cifar-10-batches-py; the test skips only when it is absent."""
    root = _real_data_root()
    if root is None:
        pytest.skip("real CIFAR-10 not found: set LINCLASS_DATA_DIR to a folder holding cifar-10-batches-py")
    return root


def chromium_path() -> str | None:
    """Debian's chromium (or Ubuntu's chromium-browser) on PATH, else None: the browser tests skip."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None
