"""Supervised children: datasets, IDX files, and a digits classifier that really learns."""

import gzip
import json

import numpy as np
import pytest
import torch

from nni_rl_nas.experiment import parse_class_args
from nni_rl_nas.training.datasets import load_images, read_idx, split
from nni_rl_nas.trial import run_trial
from tests.conftest import class_args


def test_idx_files_are_read_as_the_format_defines(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(bytes([0, 0, 0x08, 3]) + b"".join(n.to_bytes(4, "big") for n in images.shape) + images.tobytes())
    assert np.array_equal(read_idx(path), images)
    (tmp_path / "junk").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


def test_missing_fashion_mnist_files_name_the_fix(tmp_path):
    task = parse_class_args(
        {"space": {"family": "cnn"}, "task": {"dataset": "fashion_mnist", "data_dir": str(tmp_path)}}
    ).task
    with pytest.raises(FileNotFoundError, match="fix: put them in task.data_dir .* or set task.download: true"):
        load_images(task)


def test_digits_split_is_stratified_and_fixed_by_the_seed():
    task = parse_class_args({"space": {"family": "cnn"}, "task": {"dataset": "digits"}}).task
    images, labels = load_images(task)
    assert images.shape == (1797, 1, 8, 8) and 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    (_, train_y), (_, val_y) = split(images, labels, 0.2, seed=0)
    (_, again_y), _ = split(images, labels, 0.2, seed=0)
    assert len(val_y) == 360 and torch.equal(train_y, again_y)
    assert set(torch.bincount(val_y).tolist()) <= {35, 36, 37}, "every class is held out in proportion"


def digits_experiment(raw):
    raw["searchSpace"] = {}
    class_args(raw).update(
        space={"family": "cnn", "depth": 2}, task={"dataset": "digits", "epochs": 10, "learning_rate": 0.003, "seed": 0}
    )


def test_a_digits_classifier_learns_and_reports_every_epoch(write_experiment, tmp_path, monkeypatch):
    """A real run: 10 epochs of c32k5s1_c64k3s2 on 1437 digits. Chance is 0.1."""
    monkeypatch.setenv("NNI_OUTPUT_DIR", str(tmp_path / "out"))
    result = run_trial(write_experiment(digits_experiment), "c32k5s1_c64k3s2")
    assert result["val_accuracy"] >= 0.8, result
    record = json.loads((tmp_path / "out" / "trial.json").read_text())
    assert [point["epoch"] for point in record["curve"]] == list(range(1, 11))
    assert record["curve"][-1]["default"] > record["curve"][0]["default"]
    state = torch.load(tmp_path / "out" / "model.pt", weights_only=True)
    assert state["classifier.weight"].shape == (10, 64)
