import numpy as np
from PIL import Image

from ood_nb_utils import data
from ood_nb_utils.prepare import images_from_folder, short_side_resize, stratified_subset, write_set


def test_short_side_resize_keeps_aspect_and_centre_crops():
    # 64 x 32 (w x h): left half red, right half blue, a green stripe in the middle columns
    arr = np.zeros((32, 64, 3), dtype=np.uint8)
    arr[:, :32, 0] = 255
    arr[:, 32:, 2] = 255
    out = short_side_resize(Image.fromarray(arr), 32)
    assert out.shape == (32, 32, 3)
    # the short side is already 32, so the crop is columns 16..47: red on the left, blue on the right
    assert out[16, 0, 0] == 255 and out[16, 31, 2] == 255
    gray = Image.fromarray(np.full((100, 50), 7, dtype=np.uint8))
    assert short_side_resize(gray, 32).shape == (32, 32, 3)


def test_images_from_folder_and_write_set_roundtrip(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for cls in ("b_class", "a_class"):
        (tmp_path / "src" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(tmp_path / "src" / cls / f"{i}.png")
    images, labels = images_from_folder(tmp_path / "src", labelled_by_subfolder=True)
    assert images.shape == (6, 32, 32, 3) and labels.tolist() == [0, 0, 0, 1, 1, 1]
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path / "out"))
    write_set(tmp_path / "out" / "isun.npz", images, labels)
    loaded = data.load("isun")
    assert np.array_equal(loaded.images, images) and loaded.labels.tolist() == labels.tolist()


def test_stratified_subset_rule():
    labels = np.repeat(np.arange(4), 10)
    idx = stratified_subset(labels, per_class=3)
    assert len(idx) == 12 and np.bincount(labels[idx]).tolist() == [3, 3, 3, 3]
    assert np.array_equal(idx, stratified_subset(labels, per_class=3))
