"""2-D embeddings of feature vectors for figures: t-SNE (scikit-learn) and UMAP (umap-learn), seeded."""

from __future__ import annotations

import numpy as np


def embed_2d(features: np.ndarray, method: str = "tsne", *, seed: int = 0) -> np.ndarray:
    """N x 2 embedding of L2-normalised ``features`` (N x D) with ``method`` in {"tsne", "umap"}.

    Both use cosine geometry (the rows are normalised first) and a fixed seed. UMAP's first call in
    a process compiles numba code, which costs more than the embedding itself.
    """
    x = np.asarray(features, dtype=np.float32)
    if x.ndim != 2 or not np.isfinite(x).all():
        raise ValueError(f"features must be a finite N x D array, got shape {x.shape}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if method == "tsne":
        from sklearn.manifold import TSNE

        return TSNE(n_components=2, perplexity=30, init="pca", random_state=seed).fit_transform(x)
    if method == "umap":
        import warnings

        with warnings.catch_warnings():  # umap imports tqdm.auto, which warns where ipywidgets is not installed
            warnings.filterwarnings("ignore", message="IProgress not found")
            import umap

        return umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=seed,
                         n_jobs=1).fit_transform(x)
    raise ValueError(f"method must be 'tsne' or 'umap', got {method!r}")
