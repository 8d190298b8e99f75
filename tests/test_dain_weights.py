"""Weight registry: cache folder, resumable download with progress and checksums, offline errors.

Everything runs against a loopback HTTP server on 127.0.0.1 serving a checkpoint made here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import json
import threading

import pytest
import torch

from dain import hub as weights
from dain.checkpoint import read_checkpoint
from dain.hub import (
    ChecksumError,
    WeightsUnavailableError,
    cache_dir,
    download,
    ensure_weights,
    resolve_dain_weights,
)
from tests import loopback


class _Server:
    """Serves ``payload`` at ``/DAIN/best.pth`` (404 elsewhere).

    Honours ``Range: bytes=N-`` unless ``ignore_range``; ``cut_after`` drops the connection early.
    """

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.ignore_range = False
        self.cut_after: int | None = None  # send only this many body bytes, then drop the connection
        self.range_headers: list[str | None] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server naming
                if self.path != "/DAIN/best.pth":
                    self.send_response(404)
                    self.end_headers()
                    return
                header = self.headers.get("Range")
                server.range_headers.append(header)
                body, status = server.payload, 200
                if header and not server.ignore_range:
                    start = int(header.removeprefix("bytes=").rstrip("-"))
                    if start >= len(body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    body, status = body[start:], 206
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header(
                        "Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}"
                    )
                self.end_headers()
                if server.cut_after is not None:
                    body = body[: server.cut_after]
                    self.close_connection = True
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/DAIN/best.pth"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def checkpoint_bytes() -> bytes:
    torch.manual_seed(5)
    state = {"flownets.conv1a.0.weight": torch.randn(16, 3, 3, 3), "depthNet.4.bias": torch.randn(1)}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


@pytest.fixture
def server(checkpoint_bytes):
    srv = _Server(checkpoint_bytes)
    yield srv
    srv.close()


@pytest.fixture
def closed_port_url() -> str:
    return loopback.closed_port_url("/DAIN/best.pth")


def test_official_url_and_cache_dir(monkeypatch, tmp_path):
    assert weights.DAIN_BEST.urls == (
        "http://vllab1.ucmerced.edu/~wenbobao/DAIN/best.pth",  # the official one, first
        "https://github.com/BurguerJohn/Dain-App/raw/master/model_weights/best.pth",
    )
    assert weights.DAIN_BEST.url == weights.DAIN_BEST.urls[0]
    assert weights.REGISTRY["dain"] is weights.DAIN_BEST
    monkeypatch.delenv("RESTORE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "dain-restore"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "dain-restore"
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "override"))
    assert cache_dir() == tmp_path / "override"
    assert weights.cached_file(weights.DAIN_BEST) == tmp_path / "override" / "dain_best.pth"


def test_download_with_progress_records_checksum_and_loads(server, checkpoint_bytes, tmp_path):
    seen: list[tuple[int, int | None]] = []
    sha = hashlib.sha256(checkpoint_bytes).hexdigest()
    path = download(server.url, tmp_path / "best.pth", sha256=sha, progress=lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == checkpoint_bytes
    assert not (tmp_path / "best.pth.part").exists()
    assert seen[0] == (0, len(checkpoint_bytes)) and seen[-1] == (
        len(checkpoint_bytes),
        len(checkpoint_bytes),
    )
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    record = json.loads((tmp_path / "best.pth.sha256").read_text())
    assert record == {"file": "best.pth", "url": server.url, "sha256": sha, "size": len(checkpoint_bytes)}
    state = read_checkpoint(path)
    assert state["flownets.conv1a.0.weight"].shape == (16, 3, 3, 3)
    assert server.range_headers == [None]


def test_resume_after_truncated_partial_file(server, checkpoint_bytes, tmp_path):
    cut = len(checkpoint_bytes) // 3
    (tmp_path / "best.pth.part").write_bytes(checkpoint_bytes[:cut])
    seen: list[int] = []
    sha = hashlib.sha256(checkpoint_bytes).hexdigest()
    path = download(server.url, tmp_path / "best.pth", sha256=sha, progress=lambda d, t: seen.append(d))
    assert server.range_headers == [f"bytes={cut}-"]
    assert seen[0] == cut
    assert path.read_bytes() == checkpoint_bytes


def test_interrupted_download_keeps_partial_and_resumes(server, checkpoint_bytes, tmp_path):
    server.cut_after = 1000
    with pytest.raises(WeightsUnavailableError, match="run again to resume") as error:
        download(server.url, tmp_path / "best.pth", progress=False, timeout=5)
    assert "\n" not in str(error.value)
    assert (tmp_path / "best.pth.part").stat().st_size == 1000
    assert not (tmp_path / "best.pth").exists()
    server.cut_after = None
    sha = hashlib.sha256(checkpoint_bytes).hexdigest()
    path = download(server.url, tmp_path / "best.pth", sha256=sha, progress=False)
    assert server.range_headers == [None, "bytes=1000-"]
    assert path.read_bytes() == checkpoint_bytes


def test_server_ignoring_range_restarts_cleanly(server, checkpoint_bytes, tmp_path):
    server.ignore_range = True
    (tmp_path / "best.pth.part").write_bytes(b"garbage that must not survive")
    path = download(server.url, tmp_path / "best.pth", progress=False)
    assert path.read_bytes() == checkpoint_bytes


def test_checksum_mismatch_is_refused(server, tmp_path):
    with pytest.raises(ChecksumError, match="refused") as error:
        download(server.url, tmp_path / "best.pth", sha256="0" * 64, progress=False)
    assert "\n" not in str(error.value) and "--dain-weights PATH" in str(error.value)
    assert not (tmp_path / "best.pth").exists()
    assert not (tmp_path / "best.pth.part").exists()


def test_offline_gives_one_line_error_naming_the_option(closed_port_url, tmp_path):
    with pytest.raises(WeightsUnavailableError) as error:
        download(closed_port_url, tmp_path / "best.pth", progress=False, timeout=5)
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert "\n" not in message and "--dain-weights PATH" in message
    assert not (tmp_path / "best.pth").exists()


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(WeightsUnavailableError, match="HTTP 404") as error:
        download(server.url.replace("best.pth", "gone.pth"), tmp_path / "x.pth", progress=False)
    assert "--dain-weights PATH" in str(error.value)
    assert not (tmp_path / "x.pth").exists()


def test_ensure_weights_downloads_once_then_uses_the_cache(server, checkpoint_bytes, tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    spec = dataclasses.replace(weights.DAIN_BEST, urls=(server.url,))
    first = ensure_weights(spec, progress=False)
    assert first == tmp_path / "cache" / "dain_best.pth"
    assert ensure_weights(spec, progress=False) == first
    assert len(server.range_headers) == 1  # second call hit the cache
    # A cached file that changed since download is refused (cheap size check against the record).
    first.write_bytes(checkpoint_bytes[:-1])
    with pytest.raises(ChecksumError, match="changed since download"):
        ensure_weights(spec, progress=False)
    # A pinned checksum is enforced on the cache too.
    first.write_bytes(checkpoint_bytes)
    pinned = dataclasses.replace(spec, sha256="f" * 64)
    with pytest.raises(ChecksumError, match="pinned sha256"):
        ensure_weights(pinned, progress=False)
    with pytest.raises(WeightsUnavailableError, match="--dain-weights PATH"):
        ensure_weights(dataclasses.replace(spec, filename="other.pth"), allow_download=False)


def test_resolve_dain_weights(closed_port_url, tmp_path, monkeypatch):
    given = tmp_path / "mine.pth"
    given.write_bytes(b"x")
    assert resolve_dain_weights(given) == given
    with pytest.raises(WeightsUnavailableError, match="--dain-weights: file not found"):
        resolve_dain_weights(tmp_path / "missing.pth")
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(weights, "DAIN_BEST", dataclasses.replace(weights.DAIN_BEST, urls=(closed_port_url,)))
    with pytest.raises(ValueError, match="--dain-weights PATH") as error:
        resolve_dain_weights(None, progress=False)
    assert "\n" not in str(error.value)


def test_default_progress_writes_to_stderr(server, checkpoint_bytes, tmp_path, capsys):
    download(server.url, tmp_path / "best.pth")
    err = capsys.readouterr().err
    assert "downloading best.pth" in err and "(100%)" in err


def test_weight_errors_are_user_errors_and_value_errors():
    from dain.errors import UserError

    for error in (WeightsUnavailableError, ChecksumError):
        assert issubclass(error, UserError) and issubclass(error, ValueError)


def test_model_files_live_in_the_models_folder_of_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "c"))
    assert weights.model_cache_dir() == tmp_path / "c" / "models"
    assert not weights.model_cache_dir().exists()  # not created by asking


def test_published_prefix_is_checked_on_download_and_in_the_cache(
    server, checkpoint_bytes, tmp_path, monkeypatch
):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    digest = hashlib.sha256(checkpoint_bytes).hexdigest()
    spec = dataclasses.replace(weights.DAIN_BEST, urls=(server.url,), sha256_prefix=digest[:8])
    path = ensure_weights(spec, progress=False)
    assert path.read_bytes() == checkpoint_bytes
    assert ensure_weights(spec, allow_download=False) == path
    wrong = dataclasses.replace(spec, name="other", sha256_prefix="0" * 8 if digest[0] != "0" else "1" * 8)
    with pytest.raises(ChecksumError, match="published other checksum prefix") as error:
        ensure_weights(wrong, allow_download=False)
    assert "--dain-weights PATH" in str(error.value) and "\n" not in str(error.value)


def test_resolve_weights_names_the_option_of_the_spec(tmp_path):
    spec = dataclasses.replace(weights.DAIN_BEST, cli_hint="--other-weights PATH")
    assert spec.option == "--other-weights"
    given = tmp_path / "w.pth"
    given.write_bytes(b"x")
    assert weights.resolve_weights(spec, given) == given
    with pytest.raises(WeightsUnavailableError, match="^--other-weights: file not found"):
        weights.resolve_weights(spec, tmp_path / "absent.pth")


def test_the_dain_constructor_never_downloads(tmp_path, monkeypatch):
    """Only ``create_dain_interpolator`` resolves (and may download) the official weights."""
    from dain.checkpoint import save_checkpoint
    from dain.engines.dain import DainInterpolator
    from dain.nets.network import DAIN

    def no_network(*args, **kwargs):
        raise AssertionError("the constructor tried to fetch weights")

    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(weights, "ensure_weights", no_network)
    monkeypatch.setattr(weights, "download", no_network)
    network = DAIN()
    path = save_checkpoint(network, tmp_path / "mine.safetensors")
    engine = DainInterpolator(path)
    assert engine.weights_path == path
    assert DainInterpolator(network).weights_path is None
    with pytest.raises(TypeError):
        DainInterpolator()  # no weights: a programming error, not a download
