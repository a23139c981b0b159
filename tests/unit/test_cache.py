import numpy as np

from ood_nb_utils import cache


def test_computes_once_then_reads(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(5.0), "b": np.ones((2, 3), dtype=np.float32)}

    first = cache.load_or_compute("unit", {"x": 1}, compute, directory=tmp_path)
    second = cache.load_or_compute("unit", {"x": 1}, compute, directory=tmp_path)
    assert len(calls) == 1
    assert np.array_equal(first["a"], second["a"]) and second["b"].dtype == np.float32
    cache.load_or_compute("unit", {"x": 2}, compute, directory=tmp_path)
    assert len(calls) == 2
    leftovers = [p for p in tmp_path.rglob("*") if p.name.startswith(".tmp-")]
    assert leftovers == []
    assert len(list(tmp_path.rglob("*.json"))) == 2


def test_key_is_content_hash():
    assert cache.content_key({"a": 1, "b": 2}) == cache.content_key({"b": 2, "a": 1})
    assert cache.content_key({"a": 1}) != cache.content_key({"a": 2})
    assert cache.array_digest(np.arange(3)) != cache.array_digest(np.arange(3).astype(np.int32))


def test_failed_compute_leaves_nothing(tmp_path):
    def boom():
        raise RuntimeError("no")

    try:
        cache.load_or_compute("unit", {"x": 3}, boom, directory=tmp_path)
    except RuntimeError:
        pass
    assert not list(tmp_path.rglob("*.npz"))


def test_the_test_session_extracts_into_its_own_cache(session_cache):
    """No test reads what a book build left in .cache/ood_nb; the session's folder is fresh (or the
    developer's named OOD_NB_TEST_CACHE_DIR)."""
    from ood_nb_utils.config import BOOK_CACHE_DIR, cache_dir

    assert cache_dir() == session_cache
    assert cache_dir().resolve() != BOOK_CACHE_DIR.resolve()
