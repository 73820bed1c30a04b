"""CIFAR-10: download, load, split and preprocess it, or write a small synthetic stand-in.

CIFAR-10 has 60,000 colour images of 32x32 pixels in 10 classes (see ``CLASSES``):
50,000 for training (``data_batch_1`` .. ``data_batch_5``) and 10,000 for testing
(``test_batch``). The official "python version" is a folder ``cifar-10-batches-py/`` of
Python 2 pickles.

Where the data lives (see ``data_dir``), first match wins:

1. the ``root`` argument of each function;
2. the environment variable ``LINCLASS_DATA_DIR``;
3. the cache folder ``$XDG_CACHE_HOME/linclass``, or ``~/.cache/linclass`` when
   ``XDG_CACHE_HOME`` is not set.

That folder holds ``cifar-10-batches-py/`` and, after a download, the archive
``cifar-10-python.tar.gz``. To install CIFAR-10 by hand, put the archive (or its extracted
``cifar-10-batches-py/`` folder) there.

Typical use, as in the CS231n assignments::

    data = get_cifar10_data()          # float64, mean subtracted, bias column appended
    data["X_train"].shape              # (49000, 3073)

From the command line::

    python -m linclass.data fetch [--data-dir DIR]       # download or find CIFAR-10
    python -m linclass.data synthetic DEST [--per-batch N]
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import importlib
import io
import os
import pickle
import shutil
import struct
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from pathlib import Path

import numpy as np

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck")

ENV_VAR = "LINCLASS_DATA_DIR"
FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
REQUIRED_FILES = ("batches.meta",) + TRAIN_FILES + (TEST_FILE,)
IMAGE_SHAPE = (32, 32, 3)
PIXELS = 32 * 32 * 3  # 3072 values per image

# The CS231n sizes; get_cifar10_data uses them whenever the data is big enough.
NUM_TRAINING, NUM_VALIDATION, NUM_TEST, NUM_DEV = 49000, 1000, 1000, 500


class CIFAR10Error(RuntimeError):
    """The CIFAR-10 data is missing, incomplete, corrupt or cannot be downloaded.

    The message names the file or the setting at fault and says how to fix it.
    """


# ----------------------------------------------------------------------------------------
# Where the data lives
# ----------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """The cache folder used when neither ``root`` nor ``LINCLASS_DATA_DIR`` is given.

    Returns ``$XDG_CACHE_HOME/linclass``, or ``~/.cache/linclass`` when XDG_CACHE_HOME is unset.
    """
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "linclass"


def _accept_batches_folder(path: Path) -> Path:
    # People often point at cifar-10-batches-py itself; its parent is what we want.
    if path.name == FOLDER and (path / TRAIN_FILES[0]).is_file():
        return path.parent
    return path


def _locate(root) -> tuple[Path, str]:
    """Return (data folder, where that choice came from, for error messages)."""
    if root is not None:
        # Absolute, so the path still holds in a notebook kernel started in another folder.
        path = Path(os.path.abspath(Path(root).expanduser()))
        return _accept_batches_folder(path), f"the data folder {root}"
    value = os.environ.get(ENV_VAR, "").strip()
    if value:
        path = Path(os.path.abspath(Path(value).expanduser()))
        if not path.is_dir():
            raise CIFAR10Error(
                f"{ENV_VAR}={value!r} is not an existing folder. Set {ENV_VAR} to the folder "
                f"that holds {FOLDER}/ (or the archive {ARCHIVE}), or unset it to use the "
                f"cache folder {default_cache_dir()}.")
        return _accept_batches_folder(path), f"{ENV_VAR}={value!r}"
    return default_cache_dir(), f"the cache folder {default_cache_dir()} ({ENV_VAR} is not set)"


def data_dir(root=None) -> Path:
    """The folder that holds (or will receive) ``cifar-10-batches-py/``.

    Inputs:
    - root: str or Path or None. When None, use ``LINCLASS_DATA_DIR``, else the cache
      folder (``default_cache_dir()``). A path that ends in ``cifar-10-batches-py`` and
      holds the batches is accepted too; its parent is returned.

    Returns an absolute Path. It may not exist yet (``download_cifar10`` creates it).
    Raises CIFAR10Error when ``LINCLASS_DATA_DIR`` is set to something that is not a folder.
    """
    return _locate(root)[0]


def _missing_files(folder: Path) -> list[str]:
    return [name for name in REQUIRED_FILES if not (folder / name).is_file()]


def _check_complete(folder: Path) -> None:
    missing = _missing_files(folder)
    if missing:
        raise CIFAR10Error(
            f"{folder} is incomplete: it lacks {', '.join(missing)}. Delete that folder and "
            f"download again (python -m linclass.data fetch --data-dir {folder.parent}), or "
            f"replace it with a complete copy extracted from {ARCHIVE}.")


def _how_to_install_by_hand(dest: Path, md5) -> str:
    checksum = f" (md5 {md5})" if md5 else ""
    return (f"To install CIFAR-10 by hand, do one of these:\n"
            f"  - copy the archive {ARCHIVE}{checksum} to {dest / ARCHIVE}, then run\n"
            f"    python -m linclass.data fetch --data-dir {dest}\n"
            f"  - or extract that archive there, so that {dest / FOLDER / TRAIN_FILES[0]} exists;\n"
            f"  - or set {ENV_VAR} to a folder that already holds {FOLDER}/.")


# ----------------------------------------------------------------------------------------
# Download and extraction
# ----------------------------------------------------------------------------------------

def _md5_of(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _set_aside(path: Path) -> Path:
    """Rename a bad file to <name>.corrupt so it is never used again but stays for inspection."""
    corrupt = path.with_name(path.name + ".corrupt")
    os.replace(path, corrupt)
    return corrupt


def _fetch(url: str, archive: Path, md5, progress: bool, timeout: float) -> None:
    """Download url to archive through a temporary file in the same folder."""
    from tqdm.auto import tqdm

    dest = archive.parent
    fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{ARCHIVE}.", suffix=".part")
    tmp = Path(tmp_name)
    h = hashlib.md5()
    received = 0
    expected = None
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    length = response.headers.get("Content-Length")
                    expected = int(length) if length and length.isdigit() else None
                    with tqdm(total=expected, unit="B", unit_scale=True, unit_divisor=1024,
                              desc=f"Downloading {ARCHIVE}", disable=not progress) as bar:
                        while True:
                            chunk = response.read(1 << 16)
                            if not chunk:
                                break
                            out.write(chunk)
                            h.update(chunk)
                            received += len(chunk)
                            bar.update(len(chunk))
            except (OSError, http.client.HTTPException, ValueError) as exc:
                # URLError wraps the socket error in .reason; HTTPError's str has the status.
                reason = exc
                if isinstance(exc, urllib.error.URLError) and not isinstance(
                        exc, urllib.error.HTTPError):
                    reason = exc.reason
                got = f" (after {received} bytes)" if received else ""
                raise CIFAR10Error(
                    f"Could not download CIFAR-10 from {url}: {type(exc).__name__}: {reason}"
                    f"{got}.\n" + _how_to_install_by_hand(dest, md5)) from exc
        if expected is not None and received < expected:
            raise CIFAR10Error(
                f"Could not download CIFAR-10 from {url}: the transfer was cut off after "
                f"{received} of {expected} bytes. Try again.\n" + _how_to_install_by_hand(dest, md5))
    except BaseException:
        tmp.unlink(missing_ok=True)  # our own partial download, not user data
        raise
    if md5 and h.hexdigest() != md5.lower():
        corrupt = archive.with_name(archive.name + ".corrupt")
        os.replace(tmp, corrupt)
        raise CIFAR10Error(
            f"The file downloaded from {url} has md5 {h.hexdigest()}, expected {md5}: it is "
            f"corrupt and was not used (kept as {corrupt} for inspection). Try again.\n"
            + _how_to_install_by_hand(dest, md5))
    os.replace(tmp, archive)


def _check_archive_md5(archive: Path, md5) -> None:
    if not md5:
        return
    actual = _md5_of(archive)
    if actual != md5.lower():
        corrupt = _set_aside(archive)
        raise CIFAR10Error(
            f"{archive} has md5 {actual}, expected {md5}: the archive is corrupt or not the "
            f"official one, so it was not used. It was renamed to {corrupt}. Run the download "
            f"again, or copy a good {ARCHIVE} to {archive}.")


def _safe_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """Every member, after checking that none can write outside the extraction folder."""
    members = tar.getmembers()
    for m in members:
        parts = Path(m.name.replace("\\", "/")).parts
        if m.name.startswith(("/", "\\")) or ".." in parts or os.path.isabs(m.name):
            raise CIFAR10Error(f"{archive} contains the path {m.name!r}, which points outside "
                               f"the extraction folder; refusing to extract it.")
        if not (m.isfile() or m.isdir()):
            raise CIFAR10Error(f"{archive} contains {m.name!r}, which is a link or a special "
                               f"file, not a regular file; refusing to extract it.")
    return members


def _extract(archive: Path, folder: Path) -> None:
    """Extract archive into a temporary folder, then move cifar-10-batches-py into place."""
    dest = folder.parent
    tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".cifar-10-extract-"))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = _safe_members(tar, archive)
                extra = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
                tar.extractall(tmp, members=members, **extra)
        except CIFAR10Error:
            _set_aside(archive)
            raise
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            corrupt = _set_aside(archive)
            raise CIFAR10Error(
                f"{archive} is not a readable .tar.gz archive ({type(exc).__name__}: {exc}); it "
                f"was renamed to {corrupt} and not used. Download it again.") from exc
        except OSError as exc:
            # A full disk or a permission problem: the archive itself may be fine.
            raise CIFAR10Error(
                f"Could not extract {archive} into {dest}: {exc}. Free some space or choose "
                f"another data folder (--data-dir or {ENV_VAR}).") from exc
        missing = _missing_files(tmp / FOLDER)
        if missing:
            corrupt = _set_aside(archive)
            raise CIFAR10Error(
                f"{archive} does not hold a complete {FOLDER}/ folder (missing "
                f"{', '.join(missing)}); it was renamed to {corrupt} and not used.")
        try:
            os.replace(tmp / FOLDER, folder)  # atomic: the loader sees all of it or nothing
        except OSError:
            # Another process may have finished the same extraction first.
            if _missing_files(folder):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def download_cifar10(root=None, url: str = CIFAR10_URL, md5: str | None = CIFAR10_MD5,
                     progress: bool = True, timeout: float = 30) -> Path:
    """Make sure ``cifar-10-batches-py/`` exists in the data folder; download it if needed.

    Inputs:
    - root: str or Path or None, the data folder (see ``data_dir``).
    - url: str, where to download ``cifar-10-python.tar.gz`` from.
    - md5: str, the archive's expected md5 hex digest (None skips the check).
    - progress: bool, show a progress bar while downloading.
    - timeout: float, seconds to wait for the server before giving up.

    Returns the Path of the ``cifar-10-batches-py`` folder.

    Nothing is downloaded when the folder is already there. An archive already in the
    data folder (for example copied there by hand) is used after its md5 is checked.
    The download goes to a temporary file next to its destination, and extraction to a
    temporary folder that is then renamed into place, so the loader never sees a
    half-written archive or a half-extracted folder. A corrupt archive is renamed to
    ``cifar-10-python.tar.gz.corrupt`` and never loaded.

    Raises CIFAR10Error when the download fails (the message gives the URL, the reason and
    how to install the data by hand), when the archive is corrupt, or when an existing
    ``cifar-10-batches-py/`` folder is incomplete.
    """
    dest, _ = _locate(root)
    folder = dest / FOLDER
    if folder.exists():
        _check_complete(folder)
        return folder
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CIFAR10Error(f"Cannot create the data folder {dest}: {exc}. Choose another one "
                           f"with --data-dir or {ENV_VAR}.") from exc
    if not os.access(dest, os.W_OK):
        raise CIFAR10Error(f"The data folder {dest} is not writable. Choose another one with "
                           f"--data-dir or {ENV_VAR}, or place {FOLDER}/ there by hand.")
    archive = dest / ARCHIVE
    if archive.exists():
        _check_archive_md5(archive, md5)
    else:
        _fetch(url, archive, md5, progress, timeout)
    _extract(archive, folder)
    return folder


# ----------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------

def _numpy_global(module: str, name: str):
    # Files written with numpy 1 say numpy.core; numpy 2 moved it to numpy._core.
    for candidate in (module.replace("numpy.core", "numpy._core"), module):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"cannot find {module}.{name}")


class _BatchUnpickler(pickle.Unpickler):
    """Reads CIFAR-10 batches but refuses any object other than arrays, so a tampered
    batch file cannot run code when it is loaded."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol 2 pickles
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"unexpected object {module}.{name}")
        if module == "_codecs":
            return super().find_class(module, name)
        return _numpy_global(module, name)


def _unpickle(path: Path) -> dict:
    """Load one batch file as a dict with str keys."""
    try:
        with open(path, "rb") as f:
            obj = _BatchUnpickler(f, encoding="latin1").load()
    except FileNotFoundError:
        raise CIFAR10Error(f"{path} is missing. Delete {path.parent} and download CIFAR-10 "
                           f"again (python -m linclass.data fetch).") from None
    except Exception as exc:  # a damaged pickle can fail in many ways
        raise CIFAR10Error(
            f"{path} is truncated or corrupt ({type(exc).__name__}: {exc}). Delete "
            f"{path.parent} and download CIFAR-10 again (python -m linclass.data fetch).") from exc
    if not isinstance(obj, dict):
        raise CIFAR10Error(f"{path} does not hold a CIFAR-10 batch (a dict); delete "
                           f"{path.parent} and download CIFAR-10 again.")
    # Python 2 str keys come back as str with latin1 but as bytes with other encodings.
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Return (data uint8 (N, 3072) in the file's channel-first order, labels int64 (N,))."""
    batch = _unpickle(path)
    if "data" not in batch or "labels" not in batch:
        raise CIFAR10Error(f"{path} lacks the 'data' or 'labels' entry (it has "
                           f"{sorted(batch)}); it is not a CIFAR-10 batch file.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != PIXELS:
        raise CIFAR10Error(f"{path}: 'data' should be uint8 of shape (N, {PIXELS}), got "
                           f"{data.dtype} {data.shape}; the file is damaged or not CIFAR-10.")
    if labels.shape != (data.shape[0],):
        raise CIFAR10Error(f"{path}: {data.shape[0]} images but {labels.size} labels; "
                           f"the file is damaged.")
    if labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES)):
        raise CIFAR10Error(f"{path}: labels must lie in [0, {len(CLASSES)}), found "
                           f"{labels.min()}..{labels.max()}; the file is damaged.")
    return data, labels


def _to_images(rows: np.ndarray) -> np.ndarray:
    # Each row is 1024 red, then 1024 green, then 1024 blue values: (N, C, H, W) -> (N, H, W, C).
    return rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def load_cifar10(root=None, download: bool = False, dtype=np.uint8):
    """Load all of CIFAR-10 as image arrays.

    Inputs:
    - root: str or Path or None, the data folder (see ``data_dir``).
    - download: bool, download CIFAR-10 first when it is not there.
    - dtype: numpy dtype of the returned images (uint8 keeps the raw 0..255 pixels).

    Returns a tuple (X_train, y_train, X_test, y_test):
    - X_train: array of shape (50000, 32, 32, 3), dtype ``dtype`` (uint8 by default),
      pixels in height, width, RGB order.
    - y_train: array of shape (50000,), int64 labels in [0, 10); names in ``CLASSES``.
    - X_test: array of shape (10000, 32, 32, 3), dtype ``dtype``.
    - y_test: array of shape (10000,), int64.
    A synthetic dataset gives 5 * per-batch training images and its own test size.

    The batches are copied one by one into arrays allocated once, which keeps the peak
    memory near the size of the result.

    Raises CIFAR10Error naming the folder, the file or ``LINCLASS_DATA_DIR`` when the data is
    missing, incomplete, truncated or corrupt.
    """
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"dtype must be a numpy dtype such as np.uint8 or np.float32, "
                         f"got {dtype!r}") from None
    dest, source = _locate(root)
    folder = dest / FOLDER
    if not folder.exists():
        if download:
            download_cifar10(dest)
        else:
            raise CIFAR10Error(
                f"CIFAR-10 not found: {folder} does not exist (data folder from {source}).\n"
                f"Download it with `python -m linclass.data fetch --data-dir {dest}` or "
                f"load_cifar10(download=True), or point {ENV_VAR} at the folder that holds "
                f"{FOLDER}/.\n" + _how_to_install_by_hand(dest, CIFAR10_MD5))
    _check_complete(folder)

    data, labels = _read_batch(folder / TRAIN_FILES[0])
    per_batch = data.shape[0]
    X_train = np.empty((per_batch * len(TRAIN_FILES),) + IMAGE_SHAPE, dtype=dtype)
    y_train = np.empty(per_batch * len(TRAIN_FILES), dtype=np.int64)
    for i, name in enumerate(TRAIN_FILES):
        if i > 0:
            data, labels = _read_batch(folder / name)
        if data.shape[0] != per_batch:
            raise CIFAR10Error(f"{folder / name} holds {data.shape[0]} images but "
                               f"{TRAIN_FILES[0]} holds {per_batch}; the batch is damaged.")
        rows = slice(i * per_batch, (i + 1) * per_batch)
        X_train[rows] = _to_images(data)
        y_train[rows] = labels
        del data, labels  # free this batch before the next one is read

    data, y_test = _read_batch(folder / TEST_FILE)
    X_test = np.empty((data.shape[0],) + IMAGE_SHAPE, dtype=dtype)
    X_test[...] = _to_images(data)
    return X_train, y_train, X_test, y_test


# ----------------------------------------------------------------------------------------
# Split and preprocessing
# ----------------------------------------------------------------------------------------

def _check_size(name: str, value, low: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int or None, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


def split_sizes(n_train: int, n_test: int, num_training=None, num_validation=None,
                num_test=None, num_dev=None) -> tuple[int, int, int, int]:
    """Choose (num_training, num_validation, num_test, num_dev) for a dataset.

    Inputs:
    - n_train, n_test: int, how many training and test images the dataset has.
    - num_training, num_validation, num_test, num_dev: int or None. An int is used as given
      (after checking it fits); None picks a size by the rule below.

    The rule for None gives exactly the CS231n sizes on full CIFAR-10 (49000, 1000, 1000,
    500) and proportional sizes on a smaller (synthetic) set:
    - num_validation = min(1000, max(1, n_train // 50))      (2% of the training images)
    - num_training   = min(49000, n_train - num_validation)  (the rest)
    - num_test       = min(1000, n_test)                     (all test images of a small set)
    - num_dev        = min(500, max(1, num_training // 98))  (about 1% of the training split)
    For example 500 training and 100 test images give (490, 10, 100, 5).

    Raises ValueError, naming the argument, when a size is negative, not an int, or larger
    than the data allows.
    """
    n_train = _check_size("n_train", n_train, 2)
    n_test = _check_size("n_test", n_test, 0)
    if num_validation is None:
        num_validation = min(NUM_VALIDATION, max(1, n_train // 50))
        if num_training is not None:
            num_validation = min(num_validation, max(0, n_train - int(num_training)))
    num_validation = _check_size("num_validation", num_validation, 0)
    if num_training is None:
        num_training = min(NUM_TRAINING, n_train - num_validation)
    num_training = _check_size("num_training", num_training, 1)
    if num_test is None:
        num_test = min(NUM_TEST, n_test)
    num_test = _check_size("num_test", num_test, 0)
    if num_dev is None:
        num_dev = min(NUM_DEV, max(1, num_training // 98))
    num_dev = _check_size("num_dev", num_dev, 0)

    if num_training + num_validation > n_train:
        raise ValueError(
            f"num_training + num_validation = {num_training} + {num_validation} exceeds the "
            f"{n_train} training images; pass smaller sizes, or None to pick them automatically")
    if num_test > n_test:
        raise ValueError(f"num_test = {num_test} exceeds the {n_test} test images; pass at "
                         f"most {n_test}, or None")
    if num_dev > num_training:
        raise ValueError(f"num_dev = {num_dev} exceeds num_training = {num_training}; the dev "
                         f"set is drawn from the training split, so pass at most {num_training}")
    return num_training, num_validation, num_test, num_dev


def _float_dtype(dtype) -> np.dtype:
    # np.dtype(None) means float64, so None is refused before the conversion.
    try:
        dt = None if dtype is None else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.type not in (np.float32, np.float64):
        raise ValueError(f"dtype must be np.float32 or np.float64, got {dtype!r}")
    return dt


def _flat_rows(images: np.ndarray, rows: slice, dtype: np.dtype, mean,
               bias_trick: bool) -> np.ndarray:
    """Rows of images as (n, 3072 [+1]) in dtype, mean subtracted in place, bias column set."""
    src = images[rows]
    n = src.shape[0]
    out = np.empty((n, PIXELS + int(bias_trick)), dtype=dtype)
    # Writing into a preallocated array converts uint8 -> float without a full-size temporary.
    out[:, :PIXELS] = src.reshape(n, PIXELS)
    if mean is not None:
        out[:, :PIXELS] -= mean
    if bias_trick:
        out[:, PIXELS] = 1
    return out


def get_cifar10_data(root=None, num_training=None, num_validation=None, num_test=None,
                     num_dev=None, dtype=np.float64, subtract_mean: bool = True,
                     bias_trick: bool = True, seed: int = 0, download: bool = False) -> dict:
    """Load CIFAR-10 and prepare it for a linear classifier, as in the CS231n assignments.

    Inputs:
    - root: str or Path or None, the data folder (see ``data_dir``).
    - num_training, num_validation, num_test, num_dev: int or None. None (the default)
      means the CS231n sizes 49000 / 1000 / 1000 / 500 when the data is big enough, else
      proportional sizes; ``split_sizes`` documents the rule.
    - dtype: np.float64 (default) or np.float32, the dtype of every X array.
    - subtract_mean: bool, subtract the mean training image from every split.
    - bias_trick: bool, append a column of ones so that D = 3073 (else D = 3072).
    - seed: int, seeds the random choice of the dev subset.
    - download: bool, download CIFAR-10 first when it is not there.

    Returns a dict with:
    - X_train: (num_training, D), the first num_training training images.
    - y_train: (num_training,) int64.
    - X_val: (num_validation, D), the training images right after those.
    - y_val: (num_validation,) int64.
    - X_test: (num_test, D), the first num_test test images.
    - y_test: (num_test,) int64.
    - X_dev: (num_dev, D), a random subset of X_train (same seed, same rows), without
      replacement.
    - y_dev: (num_dev,) int64.
    - mean_image: (3072,) in ``dtype``, the mean of the training split only (computed in
      float64); reshape it to (32, 32, 3) to show it. It is returned even when
      subtract_mean is False.
    Each row is an image flattened in (height, width, RGB) order, then the bias 1.

    Memory: on full CIFAR-10 in float64 the peak is about the raw uint8 images (180 MB)
    plus the float64 results (1.26 GB), because each split is written straight into its
    final array; float32 halves the float part.

    Raises ValueError for bad sizes or dtype, CIFAR10Error when the data is not usable.
    """
    dtype = _float_dtype(dtype)
    seed = _check_size("seed", seed, 0)
    X_train_raw, y_train_raw, X_test_raw, y_test_raw = load_cifar10(root, download=download)
    num_training, num_validation, num_test, num_dev = split_sizes(
        len(y_train_raw), len(y_test_raw), num_training, num_validation, num_test, num_dev)

    train = slice(0, num_training)
    val = slice(num_training, num_training + num_validation)
    test = slice(0, num_test)
    # add.reduce with dtype=float64 casts in small buffers: no float copy of the images.
    mean64 = X_train_raw[train].reshape(num_training, PIXELS).mean(axis=0, dtype=np.float64)
    mean_image = mean64.astype(dtype)
    mean = mean_image if subtract_mean else None

    out = {
        "X_train": _flat_rows(X_train_raw, train, dtype, mean, bias_trick),
        "y_train": y_train_raw[train].copy(),
        "X_val": _flat_rows(X_train_raw, val, dtype, mean, bias_trick),
        "y_val": y_train_raw[val].copy(),
        "X_test": _flat_rows(X_test_raw, test, dtype, mean, bias_trick),
        "y_test": y_test_raw[test].copy(),
    }
    del X_train_raw, X_test_raw
    dev = np.random.default_rng(seed).choice(num_training, num_dev, replace=False)
    out["X_dev"] = out["X_train"][dev]
    out["y_dev"] = out["y_train"][dev]
    out["mean_image"] = mean_image
    return out


# ----------------------------------------------------------------------------------------
# Synthetic data in the official layout
# ----------------------------------------------------------------------------------------

class _Py2Pickler(pickle._Pickler):
    """Protocol-2 pickler that writes bytes as Python 2 ``str``, as cPickle did for the
    official files, so ``encoding='latin1'`` gives str keys and ``'bytes'`` gives bytes keys."""

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        # numpy 2 pickles name numpy._core; the official files (numpy 1) say numpy.core.
        module = getattr(obj, "__module__", None)
        if module and module.startswith("numpy._core"):
            name = name or obj.__qualname__
            self.write(pickle.GLOBAL + b"numpy.core" + module[len("numpy._core"):].encode()
                       + b"\n" + name.encode() + b"\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    dispatch = dict(pickle._Pickler.dispatch)
    dispatch[bytes] = save_bytes
    dispatch[type] = save_global


def _py2str(s: str) -> bytes:
    return s.encode("latin1")


def _dump_py2(obj, path: Path) -> None:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    path.write_bytes(buf.getvalue())


def synthetic_images(labels: np.ndarray, rng: np.random.Generator,
                     noise: float = 30.0) -> np.ndarray:
    """Class-dependent random images that a linear classifier can learn.

    Inputs:
    - labels: int array of shape (N,), values in [0, 10).
    - rng: np.random.Generator, for the noise.
    - noise: float, standard deviation of the per-pixel Gaussian noise (pixel units).

    Returns uint8 array of shape (N, 32, 32, 3). Class c is a fixed colour plus a stripe
    pattern whose angle and frequency depend on c, plus noise; the templates are the same
    for every seed, so train and test sets written with different seeds agree.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and (labels.min() < 0 or labels.max() >= len(CLASSES))):
        raise ValueError(f"labels must be a 1-D int array with values in [0, {len(CLASSES)})")
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    colours = np.random.default_rng(1234).uniform(60, 196, size=(len(CLASSES), 3))
    templates = np.empty((len(CLASSES),) + IMAGE_SHAPE)
    for c in range(len(CLASSES)):
        angle = np.pi * c / len(CLASSES)
        wave = np.sin(2 * np.pi * (1 + c % 3) * (xx * np.cos(angle) + yy * np.sin(angle)))
        templates[c] = colours[c] + 50 * wave[..., None] * np.array([1.0, -1.0, 0.5])
    images = templates[labels] + rng.normal(0.0, noise, size=(labels.size,) + IMAGE_SHAPE)
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def _balanced_labels(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.permutation(np.arange(n) % len(CLASSES)).astype(np.int64)


def _write_batches(folder: Path, num_train_per_batch: int, num_test: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    splits = [(name, f"training batch {i + 1} of 5", num_train_per_batch)
              for i, name in enumerate(TRAIN_FILES)]
    splits.append((TEST_FILE, "testing batch 1 of 1", num_test))
    for name, batch_label, n in splits:
        labels = _balanced_labels(n, rng)
        images = synthetic_images(labels, rng)
        rows = np.ascontiguousarray(images.transpose(0, 3, 1, 2).reshape(n, PIXELS))
        kind = "test" if name == TEST_FILE else "train"
        _dump_py2({_py2str("batch_label"): _py2str(batch_label),
                   _py2str("labels"): labels.tolist(),
                   _py2str("data"): rows,
                   _py2str("filenames"): [_py2str(f"synthetic_{CLASSES[c]}_{kind}_{i}.png")
                                          for i, c in enumerate(labels)]},
                  folder / name)
    _dump_py2({_py2str("num_cases_per_batch"): num_train_per_batch,
               _py2str("label_names"): [_py2str(c) for c in CLASSES],
               _py2str("num_vis"): PIXELS},
              folder / "batches.meta")
    (folder / "readme.html").write_text(
        "<html><body>Synthetic CIFAR-10 stand-in written by linclass.data: class-dependent "
        "colours and stripes plus noise, not real photographs.</body></html>\n")


def _write_archive(src: Path, archive: Path) -> None:
    # Fixed times and owners make the archive, and so its md5, the same on every run.
    tmp = archive.with_name(archive.name + ".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(ARCHIVE, "wb", fileobj=raw, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
        def add(path: Path, arcname: str) -> None:
            info = tar.gettarinfo(str(path), arcname)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with open(path, "rb") as f:
                    tar.addfile(info, f)
        add(src, FOLDER)
        for name in sorted(p.name for p in src.iterdir()):
            add(src / name, f"{FOLDER}/{name}")
    os.replace(tmp, archive)


def write_synthetic_cifar10(dest, num_train_per_batch: int = 100, num_test: int = 100,
                            seed: int = 0, archive: bool = False) -> Path:
    """Write a small synthetic dataset in the exact CIFAR-10 on-disk layout.

    Inputs:
    - dest: str or Path, the folder to write into (created if needed).
    - num_train_per_batch: int >= 1, images in each of data_batch_1..5.
    - num_test: int >= 1, images in test_batch.
    - seed: int, seeds labels and noise (same seed, same bytes).
    - archive: bool, write ``dest/cifar-10-python.tar.gz`` instead of the folder.

    Returns the Path of ``dest/cifar-10-batches-py`` (or of the archive when archive=True).
    The files are Python-2-style protocol-2 pickles like the official ones: batches.meta,
    data_batch_1..5, test_batch (each a dict with 'batch_label', 'labels', 'data' uint8
    (N, 3072) channel-first, 'filenames') and readme.html. Labels are balanced over the 10
    classes and images follow ``synthetic_images``, so a linear classifier learns them.

    Raises ValueError for bad sizes, FileExistsError when the target already exists.
    """
    num_train_per_batch = _check_size("num_train_per_batch", num_train_per_batch, 1)
    num_test = _check_size("num_test", num_test, 1)
    seed = _check_size("seed", seed, 0)
    dest = Path(dest).expanduser()
    target = dest / (ARCHIVE if archive else FOLDER)
    if target.exists():
        raise FileExistsError(f"{target} already exists; delete it or choose another dest")
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest, prefix=".synthetic-"))
    try:
        _write_batches(tmp, num_train_per_batch, num_test, seed)
        if archive:
            _write_archive(tmp, target)
        else:
            os.replace(tmp, target)  # atomic, like a real extraction
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------

def main(argv=None) -> int:
    """``python -m linclass.data {fetch,synthetic}``; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m linclass.data",
        description="Get CIFAR-10, or write a small synthetic dataset in its layout.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("fetch", help="download CIFAR-10 or find it; print where it is",
                       description="Download CIFAR-10 (md5-checked) unless it is already there, "
                       f"then print the path of {FOLDER}/. The data folder is --data-dir, else "
                       f"${ENV_VAR}, else {default_cache_dir()}.")
    p.add_argument("--data-dir", help=f"folder holding or receiving {FOLDER}/")
    p.add_argument("--url", default=CIFAR10_URL, help="where to download the archive from")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p = sub.add_parser("synthetic", help="write a small synthetic CIFAR-10",
                       description=f"Write DEST/{FOLDER}/ (or DEST/{ARCHIVE} with --archive) in "
                       "the official layout, with class-dependent synthetic images.")
    p.add_argument("dest", metavar="DEST", help="folder to write into")
    p.add_argument("--per-batch", type=int, default=100,
                   help="images in each of the 5 training batches (default 100)")
    p.add_argument("--test", type=int, default=100, help="images in the test batch (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--archive", action="store_true", help=f"write {ARCHIVE} instead of the folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            folder = download_cifar10(args.data_dir, url=args.url, progress=not args.no_progress)
        else:
            folder = write_synthetic_cifar10(args.dest, args.per_batch, args.test, args.seed,
                                             archive=args.archive)
    except (CIFAR10Error, ValueError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
