import numpy as np
import pytest

from ood_nb_utils.data import corruptions


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, 32)[None, :, None] * np.ones((32, 1, 3))
    return np.clip(base + rng.normal(0, 10, (32, 32, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", sorted(corruptions.CORRUPTIONS))
def test_every_family_changes_the_image_more_at_higher_severity(name, image):
    diffs = []
    for s in (1, 5):
        out = corruptions.corrupt(image, name, s, np.random.default_rng(1))
        assert out.shape == image.shape and out.dtype == np.uint8
        diffs.append(np.abs(out.astype(float) - image).mean())
    assert diffs[1] > 0
    assert diffs[1] >= diffs[0] * 0.9, f"{name}: severity 5 should not be milder than severity 1: {diffs}"


def test_contrast_and_brightness_by_hand():
    flat = np.full((4, 4, 3), 100, dtype=np.uint8)
    assert np.array_equal(corruptions.contrast(flat, 3, None), flat)  # no contrast to reduce
    img = np.zeros((4, 4, 3), dtype=np.uint8)
    img[:2] = 200
    out = corruptions.contrast(img, 5, None).astype(float)  # c = 0.15 around the mean 100
    assert out[0, 0, 0] == pytest.approx(100 + 0.15 * 100, abs=1) and out[3, 0, 0] == pytest.approx(85, abs=1)
    black = np.zeros((2, 2, 3), dtype=np.uint8)
    assert corruptions.brightness(black, 5, None).max() == round(0.3 * 255)


def test_pseudo_ood_is_seeded_and_reports_recipe(image):
    imgs = np.stack([image] * 6)
    a, recipe_a = corruptions.pseudo_ood(imgs, seed=3)
    b, recipe_b = corruptions.pseudo_ood(imgs, seed=3)
    assert np.array_equal(a, b) and recipe_a == recipe_b and len(recipe_a) == 6
    assert all(name in corruptions.CORRUPTIONS and 1 <= s <= 5 for name, s in recipe_a)


def test_errors_name_what_is_missing(image):
    with pytest.raises(KeyError, match="not implemented here: snow"):
        corruptions.corrupt(image, "frostbite", 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="severity"):
        corruptions.corrupt(image, "contrast", 6, np.random.default_rng(0))


def test_corrupted_copy_is_cached_and_equals_a_fresh_corruption(image, tmp_path, monkeypatch):
    from ood_nb_utils.data import ImageSet
    from ood_nb_utils.data.corruptions import corrupted_copy

    monkeypatch.setenv("OOD_NB_CACHE_DIR", str(tmp_path))
    rng = np.random.default_rng(4)
    clean = ImageSet.from_array(np.stack([np.roll(image, int(k), axis=1) for k in rng.integers(0, 32, 9)]))
    expected, expected_recipe = corruptions.pseudo_ood(clean.images, seed=5)
    first, recipe = corrupted_copy(clean, seed=5)
    assert np.array_equal(first.images, expected) and recipe == expected_recipe
    assert first.transform["seed"] == 5 and len(list(tmp_path.rglob("*.npz"))) == 1

    def must_not_run(*args, **kwargs):
        raise AssertionError("the corrupted copy should have been read from the cache")

    monkeypatch.setattr(corruptions, "pseudo_ood", must_not_run)
    second, recipe_again = corrupted_copy(clean, seed=5)
    assert np.array_equal(second.images, expected) and recipe_again == expected_recipe
    with pytest.raises(AssertionError, match="read from the cache"):  # another seed is another entry
        corrupted_copy(clean, seed=6)
