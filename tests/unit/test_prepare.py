import numpy as np
import pytest
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


@pytest.fixture
def file_server():
    """A local HTTP server for one payload; ``state["cut"]`` = how many of the next responses to cut short."""
    import hashlib
    import http.server
    import threading

    payload = np.random.default_rng(0).bytes(300_000)
    state = {"cut": 0, "requests": 0, "payload": payload, "sha256": hashlib.sha256(payload).hexdigest()}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            state["requests"] += 1
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if state["cut"] > 0:  # promise every byte, send a third, hang up: an interrupted download
                state["cut"] -= 1
                self.wfile.write(payload[: len(payload) // 3])
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/file.bin"
    yield state
    server.shutdown()


def test_download_is_atomic_verified_and_retried(tmp_path, file_server):
    from ood_nb_utils.prepare import download

    dest = tmp_path / "weights.bin"
    file_server["cut"] = 1  # the first attempt is cut off: retried, and no partial file is ever `dest`
    assert download(file_server["url"], dest, sha256=file_server["sha256"], backoff=0, progress=False) == dest
    assert dest.read_bytes() == file_server["payload"] and file_server["requests"] == 2
    assert not dest.with_name("weights.bin.part").exists()
    # a finished, intact file is not fetched again
    download(file_server["url"], dest, sha256=file_server["sha256"], backoff=0, progress=False)
    assert file_server["requests"] == 2


def test_download_never_leaves_a_truncated_or_wrong_file(tmp_path, file_server):
    from ood_nb_utils.prepare import DownloadError, download

    dest = tmp_path / "archive.tar.gz"
    file_server["cut"] = 5  # every attempt cut off
    with pytest.raises(DownloadError, match="got 100000 of 300000 bytes"):
        download(file_server["url"], dest, retries=3, backoff=0, progress=False)
    assert not dest.exists() and not dest.with_name("archive.tar.gz.part").exists()
    # a truncated file left by an older, non-atomic run fails its checksum and is fetched again
    dest.write_bytes(file_server["payload"][:1000])
    file_server["cut"] = 0
    download(file_server["url"], dest, sha256=file_server["sha256"], backoff=0, progress=False)
    assert dest.read_bytes() == file_server["payload"]
    with pytest.raises(DownloadError, match="sha256"):  # the right size but not the expected file
        download(file_server["url"], tmp_path / "other.bin", sha256="0" * 64, retries=2, backoff=0, progress=False)
    assert not (tmp_path / "other.bin").exists()


def test_a_chapter_fetches_only_into_the_user_cache_by_default(tmp_path, monkeypatch):
    """A chapter's first cell downloads what is missing on Binder/Colab (the data folder is the user
    cache), never next to shared/ or into a folder the user named unless asked; substitutes are only reported."""
    from ood_nb_utils import config, prepare

    fetched: list[str] = []

    def fake_prepare(names, log=print):  # what a successful download leaves: the converted set
        for name in names:
            fetched.append(name)
            if name != "weights":
                write_set(config.data_dir() / prepare.OUTPUT_FILES[name], np.zeros((2, 32, 32, 3), np.uint8),
                          np.array([0, 1]))

    monkeypatch.setattr(prepare, "prepare", fake_prepare)
    monkeypatch.setattr(prepare, "_missing_checkpoints", lambda: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("OOD_NB_FETCH", raising=False)
    assert config.user_cache_dir() == tmp_path / "ood_nb"
    lines: list[str] = []

    # a folder the user named: nothing is downloaded, each missing set is reported
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(tmp_path / "mine"))
    assert prepare.fetch_missing(["mnist", "gtsrb"], log=lines.append) == ["mnist", "gtsrb"]
    assert not fetched and "prepare --only mnist" in lines[-2] and "OOD_NB_FETCH=always" in lines[-2]
    assert "substitute" in lines[-1]

    # the user cache (Binder, Colab): mnist is fetched, the substitute stays missing and says why
    monkeypatch.setenv("OOD_NB_DATA_DIR", str(config.user_cache_dir() / "data"))
    lines.clear()
    assert prepare.fetch_missing(["mnist", "gtsrb"], log=lines.append) == ["gtsrb"]
    assert fetched == ["mnist"] and "about 12 MB" in lines[0] and "shared/" in lines[-1]
    with pytest.raises(ValueError, match="OOD_NB_FETCH"):
        prepare.fetch_missing(["mnist"], mode="sometimes")
    with pytest.raises(KeyError, match="unknown dataset"):
        prepare.fetch_missing(["nowhere"])


def test_data_folders_default_to_shared_else_the_user_cache(tmp_path, monkeypatch):
    from ood_nb_utils import config

    monkeypatch.delenv("OOD_NB_DATA_DIR", raising=False)
    monkeypatch.delenv("OOD_NB_WEIGHTS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "repo")  # a checkout with no shared/ beside it
    assert config.data_dir() == tmp_path / "xdg" / "ood_nb" / "data"
    assert config.weights_dir() == tmp_path / "xdg" / "ood_nb" / "weights"
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert config.data_dir() == tmp_path / "shared" / "data"


def test_the_download_sizes_in_how_to_run_are_the_package_figures():
    from ood_nb_utils import prepare
    from ood_nb_utils.config import REPO_ROOT

    page = (REPO_ROOT / "book" / "how_to_run.md").read_text()
    assert set(prepare.DOWNLOAD_MB) == {*prepare.OUTPUT_FILES, "weights"}
    for key, mb in prepare.DOWNLOAD_MB.items():
        assert f"{mb} MB" in page or f"{mb} +" in page or f"+ {mb}" in page, (key, mb)
    total = sum(mb for key, mb in prepare.DOWNLOAD_MB.items() if not key.endswith("_train"))
    assert f"about {total / 1000:.1f} GB" in page
