import numpy as np
import pytest
import torch

from ood_nb_utils import data
from ood_nb_utils.prepare import write_set


def test_subset_is_stratified_seeded_and_sorted():
    labels = np.repeat(np.arange(10), 100)
    idx = data.subset_indices(labels, 250, seed=0)
    assert len(idx) == 250 and np.all(np.diff(idx) > 0)
    counts = np.bincount(labels[idx], minlength=10)
    assert counts.min() >= 25 and counts.sum() == 250
    assert np.array_equal(idx, data.subset_indices(labels, 250, seed=0))
    assert not np.array_equal(idx, data.subset_indices(labels, 250, seed=1))
    assert np.array_equal(data.subset_indices(labels, None, 0), np.arange(1000))
    unlabelled = data.subset_indices(-np.ones(50, dtype=np.int64), 20, seed=0)
    assert len(np.unique(unlabelled)) == 20


def test_to_rgb32_makes_mnist_three_channel_32():
    gray = np.zeros((2, 28, 28), dtype=np.uint8)
    gray[:, 10:18, 10:18] = 255
    out = data.to_rgb32(gray)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], out[..., 2])
    assert out.max() == 255 and out[0, 0, 0, 0] == 0
    rgb = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    assert data.to_rgb32(rgb) is rgb
    with pytest.raises(TypeError, match="uint8"):
        data.to_rgb32(gray.astype(np.float32))


def test_normalize_uses_cifar_statistics():
    img = np.full((1, 32, 32, 3), 255, dtype=np.uint8)
    out = data.normalize(img)
    assert out.shape == (1, 3, 32, 32)
    expected = (1 - torch.tensor(data.CIFAR_MEAN)) / torch.tensor(data.CIFAR_STD)
    assert torch.allclose(out[0, :, 0, 0], expected)


def test_missing_set_error_names_set_path_and_remedy(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path))
    with pytest.raises(data.DatasetUnavailableError) as err:
        data.load("svhn")
    msg = str(err.value)
    assert "svhn" in msg and str(tmp_path) in msg and "prepare --only svhn" in msg


def test_checksum_mismatch_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path))
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    write_set(tmp_path / "svhn_test.npz", images, np.arange(4))
    assert len(data.load("svhn")) == 4
    (tmp_path / "svhn_test.npz.sha256").write_text("0" * 64 + "  svhn_test.npz\n")
    with pytest.raises(data.DatasetUnavailableError, match="corrupt"):
        data.find_file("svhn")
    # a shipped file with a registry checksum: any other content is rejected
    np.savez_compressed(tmp_path / "mnist_test.npz", images=images[..., 0], labels=np.arange(4))
    with pytest.raises(data.DatasetUnavailableError, match="corrupt"):
        data.find_file("mnist")


def test_registry_roles_and_substitutes_are_labelled():
    assert data.ood_sets("cifar10")[:2] == ("cifar100", "tin")
    assert data.ood_group("cifar100", "cifar10") == "near"
    assert data.ood_group("cifar10", "mnist") == "far"
    for key in data.SUBSTITUTES:
        spec = data.DATASETS[key]
        assert spec.is_substitute and "substitute" in spec.display_name
    rows = {r["key"]: r for r in data.availability()}
    assert set(rows) == set(data.DATASETS)
    assert all(rows[k]["kind"] == "SUBSTITUTE" for k in data.SUBSTITUTES)


def test_heldout_indices_avoid_the_fit_subset():
    labels = np.repeat(np.arange(10), 100)
    used = data.subset_indices(labels, 500, seed=0)
    held = data.heldout_indices(labels, used, n=200, seed=0)
    assert len(held) == 200 and not set(held) & set(used)
    assert np.bincount(labels[held], minlength=10).min() >= 20
    with pytest.raises(ValueError, match="no held-out"):
        data.heldout_indices(labels, np.arange(1000), n=10)


def test_id_validation_split_is_fixed_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 1000)
    validation, scored = data.id_validation_split(labels)
    assert len(validation) == data.ID_VALIDATION_N and len(scored) == 10_000 - data.ID_VALIDATION_N
    assert not set(validation) & set(scored) and len(set(validation) | set(scored)) == 10_000
    assert (np.bincount(labels[validation], minlength=10) == 100).all()  # 100 per class
    again, _ = data.id_validation_split(labels)
    np.testing.assert_array_equal(validation, again)  # the split does not move between runs
    with pytest.raises(ValueError, match="validation split"):
        data.id_validation_split(labels, n=10_000)


def test_data_status_tells_a_corrupt_file_from_a_missing_one(tmp_path, monkeypatch):
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path))
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    write_set(tmp_path / "svhn_test.npz", images, np.arange(4))  # with its .sha256: intact
    np.savez_compressed(tmp_path / "mnist_test.npz", images=images[..., 0], labels=np.arange(4))  # wrong content
    status = {r["key"]: r for r in data.availability()}
    assert status["svhn"]["status"] == "ok" and status["svhn"]["n"] == 4 and status["svhn"]["available"]
    assert status["mnist"]["status"] == "corrupt" and "corrupt" in status["mnist"]["note"]
    assert status["textures"]["status"] == "missing" and not status["textures"]["available"]
    with pytest.raises(data.DatasetCorruptError):
        data.find_file("mnist")
