"""Image datasets for supervised children, as float tensors in [0, 1] shaped (N, C, H, W).

``digits`` is scikit-learn's bundled 8x8 handwritten digits (1797 images): it ships inside the
wheel, so tests and CI never download anything. ``fashion_mnist`` reads the dataset's own IDX
files (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``) from ``task.data_dir``,
fetching them first only when ``task.download`` is true.
"""

from __future__ import annotations

import functools
import gzip
import logging
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..files import write_atomically

logger = logging.getLogger(__name__)

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_MNIST_FILES = {"images": "train-images-idx3-ubyte.gz", "labels": "train-labels-idx1-ubyte.gz"}
DEFAULT_DATA_DIR = Path.home() / ".cache" / "nni-rl-nas" / "fashion_mnist"
# IDX's type codes: unsigned and signed bytes, then big-endian 2- and 4-byte ints, 4- and 8-byte floats
IDX_DTYPES = {
    code: np.dtype(kind)
    for code, kind in zip((0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E), ("u1", "i1", ">i2", ">i4", ">f4", ">f8"))
}


def read_idx(path: Path) -> np.ndarray:
    """One (gzipped) IDX file: two zero bytes, a type code, the number of dimensions, the sizes, the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        raw = handle.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4]!r})")
    dimensions = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dimensions))
    data = np.frombuffer(raw, dtype=IDX_DTYPES[raw[2]], offset=4 + 4 * dimensions)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape}, but it holds {data.size} values")
    return data.reshape(shape)


def fashion_mnist_files(data_dir: Path, download: bool) -> dict[str, Path]:
    paths = {kind: data_dir / name for kind, name in FASHION_MNIST_FILES.items()}
    missing = [path for path in paths.values() if not path.exists()]
    if missing and not download:
        raise FileNotFoundError(
            f"FashionMNIST files {[str(p) for p in missing]} are missing; fix: put them in "
            f"task.data_dir ({data_dir}) or set task.download: true"
        )
    for path in missing:
        logger.info("downloading %s", FASHION_MNIST_URL + path.name)
        with urllib.request.urlopen(FASHION_MNIST_URL + path.name, timeout=60) as response:
            payload = response.read()
        write_atomically(path, functools.partial(Path.write_bytes, data=payload))
    return paths


def load_images(task) -> tuple[torch.Tensor, torch.Tensor]:
    """All training images of the task's dataset, scaled to [0, 1], with their labels."""
    if task.dataset == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = digits.images.astype(np.float32)[:, None] / 16.0
        labels = digits.target
    else:
        paths = fashion_mnist_files(Path(task.data_dir) if task.data_dir else DEFAULT_DATA_DIR, task.download)
        images = read_idx(paths["images"]).astype(np.float32)[:, None] / 255.0
        labels = read_idx(paths["labels"])
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


def split(images: torch.Tensor, labels: torch.Tensor, validation_fraction: float, seed: int):
    """Stratified train/validation split, the same for every architecture of one seed."""
    from sklearn.model_selection import train_test_split

    train, validation = train_test_split(
        np.arange(len(labels)), test_size=validation_fraction, random_state=seed, stratify=labels.numpy()
    )
    return (images[train], labels[train]), (images[validation], labels[validation])
