"""Weight sources tried in order: a source that refuses, stalls or serves another file gives way to the
next, says so on stderr, and when all fail one line says what to download from where.

Everything runs against a loopback HTTP server (``tests/loopback.py``).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

from dain import hub
from dain.hub import ChecksumError, WeightSpec, WeightsUnavailableError, ensure_weights
from tests.loopback import LoopbackServer, closed_port_url

PAYLOAD = b"weights " * 4096  # 32 KiB standing in for a checkpoint
OTHER = b"another file " * 100
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(hub.CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def server():
    with LoopbackServer({"/good.pth": PAYLOAD, "/other.pth": OTHER}, stall={"/stall.pth"}) as srv:
        yield srv


def _spec(*urls: str, **fields: object) -> WeightSpec:
    return WeightSpec(name="test", urls=urls, filename="test.pth", cli_hint="--test-weights PATH", **fields)


def test_a_refusing_first_source_gives_way_to_the_second(server, cache, capsys):
    spec = _spec(server.url("/gone.pth"), server.url("/good.pth"), sha256=DIGEST, size=len(PAYLOAD))
    path = ensure_weights(spec, progress=False)
    assert path == cache / "test.pth" and path.read_bytes() == PAYLOAD
    assert server.requests == ["/gone.pth", "/good.pth"]
    err = capsys.readouterr().err
    assert "source 1 of 2 failed" in err and "HTTP 404" in err and server.url("/good.pth") in err
    record = json.loads((cache / "test.pth.sha256").read_text())
    assert record["url"] == server.url("/good.pth") and record["sha256"] == DIGEST
    assert sorted(p.name for p in cache.iterdir()) == ["test.pth", "test.pth.sha256"]  # no .part left


def test_a_stalled_source_is_abandoned_after_the_connect_timeout(server, cache, capsys, monkeypatch):
    monkeypatch.setenv(hub.CONNECT_TIMEOUT_ENV, "0.5")
    spec = _spec(server.url("/stall.pth"), server.url("/good.pth"))
    started = time.monotonic()
    path = ensure_weights(spec, progress=False)
    elapsed = time.monotonic() - started
    assert path.read_bytes() == PAYLOAD
    assert server.requests == ["/stall.pth", "/good.pth"]
    assert 0.4 < elapsed < 10, elapsed  # waited for the timeout, not for the stalled server
    assert "source 1 of 2 failed (cannot download" in capsys.readouterr().err


def test_a_source_serving_another_file_is_refused_and_the_next_one_used(server, cache, capsys):
    spec = _spec(server.url("/other.pth"), server.url("/good.pth"), sha256=DIGEST)
    assert ensure_weights(spec, progress=False).read_bytes() == PAYLOAD
    assert "does not match its pinned checksum" in capsys.readouterr().err


def test_every_source_failing_is_one_line_naming_file_sources_and_option(server, cache):
    offline = closed_port_url("/best.pth")
    spec = _spec(offline, server.url("/gone.pth"))
    with pytest.raises(WeightsUnavailableError) as caught:
        ensure_weights(spec, progress=False)
    message = str(caught.value)
    assert "\n" not in message and isinstance(caught.value, ValueError)
    assert message.startswith("test weights: no source answered (")
    assert f"download test.pth from {offline} or {server.url('/gone.pth')}" in message
    assert message.endswith("yourself and pass --test-weights PATH")
    assert not cache.exists()  # nothing written, not even the cache folder
    wrong = _spec(server.url("/other.pth"), server.url("/other.pth"), sha256=DIGEST)
    with pytest.raises(ChecksumError):
        ensure_weights(wrong, progress=False)
    assert not (cache / "test.pth").exists()


def test_a_partial_file_is_resumed_only_from_its_own_source(server, cache):
    cache.mkdir()
    partial = cache / "test.pth.part"
    partial.write_bytes(b"bytes from elsewhere")
    (cache / "test.pth.part.url").write_text("http://mirror.invalid/test.pth\n")
    path = hub.download(server.url("/good.pth"), cache / "test.pth", sha256=DIGEST, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert not partial.exists() and not (cache / "test.pth.part.url").exists()


def test_connect_timeout_is_at_most_15_seconds_and_configurable(monkeypatch):
    monkeypatch.delenv(hub.CONNECT_TIMEOUT_ENV, raising=False)
    assert hub.connect_timeout() == hub.CONNECT_TIMEOUT == 15.0
    monkeypatch.setenv(hub.CONNECT_TIMEOUT_ENV, "2.5")
    assert hub.connect_timeout() == 2.5
    monkeypatch.setenv(hub.CONNECT_TIMEOUT_ENV, "soon")
    with pytest.raises(WeightsUnavailableError, match="RESTORE_CONNECT_TIMEOUT"):
        hub.connect_timeout()


def test_a_spec_needs_at_least_one_source():
    with pytest.raises(ValueError, match="urls"):
        WeightSpec(name="x", urls=(), filename="x.pth")
    one_string: Any = "http://one.invalid/x.pth"  # a bare string is not a list of sources
    with pytest.raises(ValueError, match="urls"):
        WeightSpec(name="x", urls=one_string, filename="x.pth")
