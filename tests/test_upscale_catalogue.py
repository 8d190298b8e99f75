"""SR models by name: the catalogue, download into the model cache (loopback server), checksums, chains,
``--sr NAME`` through the CLI and ``restore models --list``.

The real Real-ESRGAN AnimeVideo v3 weights of ``../shared/data/models/realesr-animevideov3-x4/`` stand in
for the release file (the same weights in the PyTorch key layout; its bytes differ from xinntao's file,
so the tests pin the stand-in's size and SHA-256 in place of the official ones).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest
import torch

from dain import hub
from dain.hub import ChecksumError, WeightsUnavailableError
from restore.upscale import catalogue as catalogue_module
from restore.upscale import create_upscaler
from restore.upscale.catalogue import CATALOGUE, catalogue_model, is_cached
from restore.upscale.chain import ChainUpscaler
from restore.upscale.model_file import ModelUpscaler
from tests.conftest import decode_all, main_in_process, make_clip, shared_file
from tests.loopback import LoopbackServer, closed_port_url

NAME = "realesr-animevideov3"


@pytest.fixture(scope="module")
def stand_in() -> bytes:
    return shared_file("models", "realesr-animevideov3-x4", "realesr-animevideov3-x4.pth").read_bytes()


@pytest.fixture(scope="module")
def server(stand_in):
    with LoopbackServer({"/v0.2.5.0/realesr-animevideov3.pth": stand_in}) as srv:
        yield srv


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(hub.CACHE_ENV, str(folder))
    return folder


def _serve(monkeypatch, server, payload: bytes, *, pin: bool = True) -> Path:
    """Point the catalogue entry at the loopback server; pin the stand-in's checksum unless ``pin=False``."""
    model = CATALOGUE[NAME]
    fields: dict[str, object] = {"urls": (server.url("/v0.2.5.0/realesr-animevideov3.pth"),)}
    if pin:
        fields |= {"sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)}
    spec = dataclasses.replace(model.spec, **fields)
    monkeypatch.setitem(CATALOGUE, NAME, dataclasses.replace(model, spec=spec))
    return hub.cached_file(spec)


def test_catalogue_names_official_release_files_with_pinned_checksums():
    names = ["realesr-animevideov3", "realesrgan-x4plus", "realesrgan-x4plus-anime", "realesr-general-x4v3"]
    assert list(CATALOGUE) == names
    for model in CATALOGUE.values():
        (url,) = model.spec.urls
        assert url.startswith("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.")
        assert url.endswith("/" + Path(model.spec.filename).name)
        assert model.spec.filename.startswith("models/") and model.spec.cli_hint == "--sr PATH"
        assert len(model.spec.sha256 or "") == 64 and (model.spec.size or 0) > 1_000_000
        assert model.licence == "BSD-3-Clause" and model.scale == 4 and 4 in model.scales
    assert CATALOGUE[NAME].scales == (2, 3, 4)
    assert catalogue_model("RealESRGAN_x4plus_anime_6B") is CATALOGUE["realesrgan-x4plus-anime"]
    assert catalogue_model("REALESR-ANIMEVIDEOV3") is CATALOGUE[NAME] and catalogue_model("nope") is None


def test_a_name_is_downloaded_once_into_the_model_cache_and_checksummed(
    monkeypatch, server, stand_in, cache, capsys
):
    target = _serve(monkeypatch, server, stand_in)
    assert target == cache / "models" / "realesr-animevideov3.pth" and not is_cached(CATALOGUE[NAME])
    before = len(server.requests)
    engine = create_upscaler(NAME)
    assert isinstance(engine, ModelUpscaler) and engine.native_scale == 4
    assert target.read_bytes() == stand_in and is_cached(CATALOGUE[NAME])
    assert "downloading realesr-animevideov3.pth" in capsys.readouterr().err  # progress on stderr
    chain = create_upscaler(f"{NAME.upper()},lanczos")  # chains take names; the second build uses the cache
    assert isinstance(chain, ChainUpscaler) and len(server.requests) == before + 1
    frames = torch.rand(1, 3, 12, 16)
    assert chain.upscale(frames, (36, 48)).shape == (1, 3, 36, 48)  # x3 from the x4 network, resized


def test_a_file_that_does_not_match_the_pinned_checksum_is_refused(monkeypatch, server, stand_in, cache):
    _serve(monkeypatch, server, stand_in, pin=False)  # the official SHA-256 stays pinned
    with pytest.raises(ChecksumError, match="does not match its pinned checksum") as caught:
        create_upscaler(NAME)
    assert "--sr PATH" in str(caught.value) and "\n" not in str(caught.value)
    assert list((cache / "models").iterdir()) == []


def test_offline_is_one_line_naming_the_release_url_and_the_option(monkeypatch, cache):
    model = CATALOGUE[NAME]
    spec = dataclasses.replace(model.spec, urls=(closed_port_url("/realesr-animevideov3.pth"),))
    monkeypatch.setitem(CATALOGUE, NAME, dataclasses.replace(model, spec=spec))
    with pytest.raises(WeightsUnavailableError) as caught:
        catalogue_module.catalogue_path(NAME, progress=False)
    message = str(caught.value)
    assert "\n" not in message and spec.url in message and message.endswith("pass --sr PATH")
    assert not cache.exists()


def test_sr_by_name_through_the_cli_and_models_list(monkeypatch, server, stand_in, cache, tmp_path):
    _serve(monkeypatch, server, stand_in)
    code, out, _ = main_in_process(["models", "--list"])
    assert code == 0
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == set(CATALOGUE)
    assert rows[NAME][1:5] == ["x2/x3/x4", "BSD-3-Clause", "2.4", "MiB"] and rows[NAME][5] == "no"
    assert rows["realesrgan-x4plus"][1:5] == ["x4", "BSD-3-Clause", "63.9", "MiB"]

    clip = make_clip(tmp_path / "clip.mp4", rate="10", seconds=0.4, size="32x24", audio=False)
    output = tmp_path / "x2.mp4"
    code, _, err = main_in_process(
        [clip, "--scale", "2", "--sr", NAME, "-o", output, "-q", "--device", "cpu"]
    )
    assert code == 0, err
    assert decode_all(output).shape[1:3] == (48, 64)
    code, out, _ = main_in_process(["models", "--list"])
    assert {line.split()[0]: line.split()[5] for line in out.splitlines()[2:]}[NAME] == "yes"
    code, out, err = main_in_process(["models", NAME])  # a cached catalogue model is described by name
    assert code == 0 and "4x" in out and "Compact" in out, err


def test_describing_a_catalogue_model_never_downloads(monkeypatch, server, stand_in, cache):
    _serve(monkeypatch, server, stand_in)
    before = len(server.requests)
    code, _, err = main_in_process(["models", NAME])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not in the cache" in err
    assert len(server.requests) == before


def test_offline_sr_name_through_the_cli_exits_2_and_writes_nothing(monkeypatch, cache, tmp_path):
    model = CATALOGUE[NAME]
    spec = dataclasses.replace(model.spec, urls=(closed_port_url("/realesr-animevideov3.pth"),))
    monkeypatch.setitem(CATALOGUE, NAME, dataclasses.replace(model, spec=spec))
    clip = make_clip(tmp_path / "clip.mp4", rate="10", seconds=0.4, size="32x24", audio=False)
    output = tmp_path / "out.mp4"
    code, _, err = main_in_process([clip, "--scale", "2", "--sr", NAME, "-o", output, "-q"])
    assert code == 2
    lines = err.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("restore: error: cannot download") and "--sr PATH" in lines[0]
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"] and not cache.exists()
