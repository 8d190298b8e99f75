"""RIFE weights by version: the published sources, and the download path against a loopback server.

The served file is a random 4.6 checkpoint in the official form, so a download ends in a loaded engine.
"""

from __future__ import annotations

import dataclasses
import io

import pytest
import torch

from dain.engines.rife.engine import create_rife_interpolator
from dain.engines.rife.layouts import layout_for_version
from dain.engines.rife.network import RifeFlowNet
from dain.engines.rife.weights import (
    DEFAULT_VERSION,
    RIFE_VERSIONS,
    RIFE_WEIGHTS,
    check_version,
    resolve_rife_weights,
)
from dain.hub import WeightsUnavailableError
from tests.loopback import LoopbackServer, closed_port_url

PATH = "/model/flownet_v4.6.pkl"


@pytest.fixture(scope="module")
def payload() -> bytes:
    torch.manual_seed(2)
    state = RifeFlowNet(layout_for_version("4.6")).state_dict()
    buffer = io.BytesIO()
    torch.save({f"module.{key}": value for key, value in state.items()}, buffer)
    return buffer.getvalue()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RESTORE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _serve(monkeypatch, version: str, urls: tuple[str, ...]) -> None:
    monkeypatch.setitem(RIFE_WEIGHTS, version, dataclasses.replace(RIFE_WEIGHTS[version], urls=urls))


def test_every_version_comes_from_the_vs_rife_release_and_is_not_falsely_pinned():
    assert RIFE_VERSIONS == ("4.6", "4.18", "4.22", "4.25", "4.26") and DEFAULT_VERSION == "4.25"
    for version, spec in RIFE_WEIGHTS.items():
        assert spec.urls == (
            f"https://github.com/HolyWu/vs-rife/releases/download/model/flownet_v{version}.pkl",
        )
        assert spec.sha256 is None and spec.option == "--rife-weights"
        assert spec.filename == f"rife/flownet_v{version}.pkl"
        assert version in layout_for_version(version).versions
    with pytest.raises(
        WeightsUnavailableError, match=r"^--rife-model: unknown RIFE version '4.99'; choose one of"
    ):
        check_version("4.99")


def test_a_named_version_downloads_once_into_the_cache_and_loads(payload, cache, monkeypatch, capsys):
    with LoopbackServer({PATH: payload}) as server:
        _serve(monkeypatch, "4.6", (server.url(PATH),))
        engine = create_rife_interpolator(model="4.6")
        assert engine.layout.name == "4.6" and engine.version == "4.6"
        assert engine.weights_path == cache / "rife" / "flownet_v4.6.pkl"
        assert engine.weights_path.read_bytes() == payload
        assert (cache / "rife" / "flownet_v4.6.pkl.sha256").is_file()  # size, sha256, source recorded
        assert resolve_rife_weights(None, "4.6") == engine.weights_path
        assert server.requests == [PATH]  # the second call used the cache
    assert "downloading flownet_v4.6.pkl" in capsys.readouterr().err


def test_the_next_source_is_tried_when_one_fails(payload, cache, monkeypatch, capsys):
    with LoopbackServer({PATH: payload}) as server:
        _serve(monkeypatch, "4.6", (server.url("/gone.pkl"), server.url(PATH)))
        path = resolve_rife_weights(None, "4.6")
        assert path.read_bytes() == payload and server.requests == ["/gone.pkl", PATH]
    err = capsys.readouterr().err
    assert "rife-4.6 weights: source 1 of 2 failed (cannot download" in err and "HTTP 404" in err


def test_offline_is_one_line_naming_the_option(cache, monkeypatch):
    _serve(monkeypatch, DEFAULT_VERSION, (closed_port_url(),))
    with pytest.raises(WeightsUnavailableError) as error:
        create_rife_interpolator()
    message = str(error.value)
    assert "\n" not in message and "offline?" in message and message.endswith("pass --rife-weights PATH")
    assert not (cache / "rife" / f"flownet_v{DEFAULT_VERSION}.pkl").exists()
    with pytest.raises(WeightsUnavailableError, match=r"^--rife-weights: file not found: "):
        resolve_rife_weights(cache / "missing.pkl")


def test_given_weights_win_over_the_download_and_must_hold_the_named_version(payload, tmp_path, cache):
    path = tmp_path / "flownet.pkl"
    path.write_bytes(payload)
    assert create_rife_interpolator(weights=path).layout.name == "4.6"
    with pytest.raises(ValueError, match="holds the RIFE 4.6 layout, not 4.22"):
        create_rife_interpolator(weights=path, model="4.22")
    assert not cache.exists()  # nothing was downloaded
