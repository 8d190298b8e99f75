"""Weight registry: where the checkpoints are published, the local cache, and a resumable download.

Every :class:`WeightSpec` lists its sources in order (:attr:`WeightSpec.urls`); :func:`ensure_weights`
tries them one after the other. A source that refuses (HTTP error), cannot be reached, does not answer
within the connect timeout (:data:`CONNECT_TIMEOUT`, 15 s, ``$RESTORE_CONNECT_TIMEOUT`` to change it),
breaks off, or serves a file that fails the checksum is reported on stderr in one line and the next one
is tried. When all fail, one line says what to download from where and which option takes the file.

What is pinned, honestly:

- DAIN's ``best.pth``: the official URL of ``baowenbo/DAIN``'s README
  (``http://vllab1.ucmerced.edu/~wenbobao/DAIN/best.pth``, plain HTTP, unreachable since 2020:
  baowenbo/DAIN issues #112 and #158), then the copy in the Dain-App repository
  (``BurguerJohn/Dain-App``, ``model_weights/best.pth``), the source users there point to.
  Its SHA-256 and size are **not** pinned (the file could not be fetched while this was written): the
  download is checked for completeness, then for loadability (all 954 keys). A pinned checksum is enforced.
- After every download the observed size, SHA-256 and source are recorded next to the file
  (``<file>.sha256``), so later runs detect a changed or truncated cache file, and the values can
  be pinned in the registry once confirmed.

Loading is always ``weights_only`` (see :mod:`dain.checkpoint`), so even an unpinned file cannot run code.

Cache folder: ``$RESTORE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/dain-restore``, else
``~/.cache/dain-restore`` (see :func:`cache_dir`); super-resolution model files live in its ``models``
folder (:func:`model_cache_dir`).

This is the toolkit's only weight cache and downloader: other registries (the colourisation
checkpoints, the super-resolution catalogue) are :class:`WeightSpec` data resolved through
:func:`resolve_weights` / :func:`ensure_weights`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dain.errors import UserError

__all__ = [
    "WeightSpec",
    "WeightsUnavailableError",
    "CONNECT_TIMEOUT",
    "CONNECT_TIMEOUT_ENV",
    "ChecksumError",
    "REGISTRY",
    "DAIN_BEST",
    "CACHE_ENV",
    "MODELS_FOLDER",
    "cache_dir",
    "cached_file",
    "connect_timeout",
    "download",
    "ensure_weights",
    "existing_weights",
    "model_cache_dir",
    "resolve_dain_weights",
    "resolve_weights",
    "sha256_of",
]

CACHE_ENV = "RESTORE_CACHE_DIR"
CONNECT_TIMEOUT = 15.0  # seconds a source may take to answer before the next one is tried
CONNECT_TIMEOUT_ENV = "RESTORE_CONNECT_TIMEOUT"
MODELS_FOLDER = "models"  # super-resolution model files, inside the cache folder
_CHUNK = 1 << 20
ProgressCallback = Callable[[int, "int | None"], None]


class WeightsUnavailableError(UserError, ValueError):
    """The weights could not be found or downloaded; the message is one line and says what to do."""


class ChecksumError(WeightsUnavailableError):
    """A downloaded or cached file does not match its pinned SHA-256 or recorded size."""


@dataclass(frozen=True)
class WeightSpec:
    """One downloadable weights file.

    name: registry key; urls: where it is published, tried in order (official source first);
    filename: its path in the cache folder; sha256 / size: pinned values or ``None`` when unknown (then
    only recorded after download); cli_hint: the command-line option a user passes instead of
    downloading (``"--dain-weights PATH"``); sha256_prefix: a published prefix of the SHA-256 (the
    ``torch.hub`` ``name-<prefix>.pth`` convention), checked on every cached or downloaded file.
    """

    name: str
    urls: tuple[str, ...]
    filename: str
    sha256: str | None = None
    size: int | None = None
    cli_hint: str = "--dain-weights PATH"
    sha256_prefix: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.urls, str) or not self.urls:
            raise ValueError(f"WeightSpec {self.name!r}: urls must be a non-empty tuple of URLs")
        object.__setattr__(self, "urls", tuple(self.urls))

    @property
    def url(self) -> str:
        """The first (official) source."""
        return self.urls[0]

    @property
    def option(self) -> str:
        """The command-line option of :attr:`cli_hint` (``"--dain-weights"``)."""
        return self.cli_hint.split()[0]


DAIN_BEST = WeightSpec(
    name="dain",
    urls=(
        "http://vllab1.ucmerced.edu/~wenbobao/DAIN/best.pth",  # official; unreachable since 2020
        "https://github.com/BurguerJohn/Dain-App/raw/master/model_weights/best.pth",
    ),
    filename="dain_best.pth",
    sha256=None,  # not pinned: never fetched while writing this (see module docstring)
    size=None,
)

REGISTRY: dict[str, WeightSpec] = {DAIN_BEST.name: DAIN_BEST}


def connect_timeout() -> float:
    """Seconds a source may take to answer: ``$RESTORE_CONNECT_TIMEOUT`` if set, else 15 (the default)."""
    text = os.environ.get(CONNECT_TIMEOUT_ENV, "")
    if not text:
        return CONNECT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise WeightsUnavailableError(f"{CONNECT_TIMEOUT_ENV}: not a number of seconds: {text!r}") from None
    return value if value > 0 else CONNECT_TIMEOUT


def cache_dir() -> Path:
    """The toolkit's cache folder (not created): ``$RESTORE_CACHE_DIR``, else the user cache."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dain-restore"


def model_cache_dir() -> Path:
    """The folder of super-resolution model files: ``<cache folder>/models`` (not created)."""
    return cache_dir() / MODELS_FOLDER


def cached_file(spec: WeightSpec) -> Path:
    """Where ``spec`` lives (or will live) in the cache."""
    return cache_dir() / spec.filename


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _record_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_record(path: Path, url: str, sha256: str, size: int) -> None:
    record = {"file": path.name, "url": url, "sha256": sha256, "size": size}
    _record_path(path).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _stderr_progress(label: str) -> ProgressCallback:
    """A progress callback printing ``label: 12.0/96.0 MB (12%)`` on one refreshed stderr line."""
    state = {"last": -1}

    def report(done: int, total: int | None) -> None:
        step = done * 100 // total if total else done // (5 * _CHUNK)
        if step == state["last"] and (total is None or done < total):
            return
        state["last"] = step
        if total:
            text = f"\r{label}: {done / 1e6:.1f}/{total / 1e6:.1f} MB ({step}%)"
        else:
            text = f"\r{label}: {done / 1e6:.1f} MB"
        sys.stderr.write(text + ("\n" if total and done >= total else ""))
        sys.stderr.flush()

    return report


def download(
    url: str,
    destination: Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    progress: ProgressCallback | bool = True,
    timeout: float | None = None,
    cli_hint: str = "--dain-weights PATH",
) -> Path:
    """Download ``url`` to ``destination`` through ``<destination>.part``, resuming with HTTP Range.

    A partial file from an interrupted run of the same source is continued (``Range: bytes=N-``); one
    from another source, or a server that ignores the range (200 instead of 206), restarts from zero.
    The SHA-256 is computed while streaming; when ``sha256`` (or ``size``) is given a mismatch deletes
    the partial file and raises :class:`ChecksumError`. The observed size, SHA-256 and URL are recorded
    in ``<destination>.sha256``. ``timeout``: seconds to wait for the server (connect and each read),
    ``None`` = :func:`connect_timeout`. Network failures raise :class:`WeightsUnavailableError` with a
    one-line message naming ``cli_hint``; nothing is written before the server answers.
    """
    destination = Path(destination)
    partial = destination.with_name(destination.name + ".part")
    source_note = partial.with_name(partial.name + ".url")  # the source of the partial file
    timeout = connect_timeout() if timeout is None else timeout
    report: ProgressCallback | None
    if progress is True:
        report = _stderr_progress(f"downloading {destination.name}")
    else:
        report = progress or None

    if partial.exists() and source_note.exists() and source_note.read_text(encoding="utf-8").strip() != url:
        partial.unlink()  # begun from another source: never splice two servers' bytes
    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "dain-restore"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - URL from registry/caller
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:  # range past the end: the partial file is complete or stale
            partial.unlink()
            return download(
                url,
                destination,
                sha256=sha256,
                size=size,
                progress=progress,
                timeout=timeout,
                cli_hint=cli_hint,
            )
        raise WeightsUnavailableError(
            f"cannot download {url} (HTTP {error.code}); download it yourself and pass {cli_hint}"
        ) from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        reason = str(reason) or type(reason).__name__
        raise WeightsUnavailableError(
            f"cannot download {url} ({reason}); offline? download it yourself and pass {cli_hint}"
        ) from error

    digest = hashlib.sha256()
    with response:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if offset and response.status == 206:
            with open(partial, "rb") as handle:  # hash what is already there
                for chunk in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(chunk)
            mode = "ab"
        else:
            offset, mode = 0, "wb"
        source_note.write_text(url + "\n", encoding="utf-8")
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        done = offset
        try:
            with open(partial, mode) as handle:
                if report:
                    report(done, total)
                while chunk := response.read(_CHUNK):
                    handle.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if report:
                        report(done, total)
        except (OSError, TimeoutError) as error:
            raise WeightsUnavailableError(
                f"download of {url} interrupted at {done} bytes ({error or type(error).__name__}); "
                f"run again to resume, or pass {cli_hint}"
            ) from error

    if total is not None and done != total:
        raise WeightsUnavailableError(
            f"download of {url} incomplete ({done} of {total} bytes); run again to resume, or pass {cli_hint}"
        )
    observed = digest.hexdigest()
    if (sha256 is not None and observed != sha256.lower()) or (size is not None and done != size):
        partial.unlink(missing_ok=True)
        source_note.unlink(missing_ok=True)
        raise ChecksumError(
            f"download of {url} does not match its pinned checksum (sha256 {observed}, {done} bytes); "
            f"refused. Pass {cli_hint} with a trusted copy"
        )
    os.replace(partial, destination)
    source_note.unlink(missing_ok=True)
    _write_record(destination, url, observed, done)
    return destination


def _verify_cached(path: Path, spec: WeightSpec) -> None:
    """Cheap check of a cached file against its download record and the pinned values."""
    record_path = _record_path(path)
    actual_size = path.stat().st_size
    if spec.size is not None and actual_size != spec.size:
        raise ChecksumError(
            f"cached {path} has {actual_size} bytes, expected {spec.size}; delete it or pass {spec.cli_hint}"
        )
    if record_path.exists():
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        if record.get("size") not in (None, actual_size):
            raise ChecksumError(
                f"cached {path} changed since download ({actual_size} bytes, recorded {record['size']}); "
                f"delete it or pass {spec.cli_hint}"
            )
        recorded_sha = record.get("sha256")
    else:
        recorded_sha = None
    if spec.sha256 is not None:
        observed = recorded_sha if recorded_sha is not None else sha256_of(path)
        if observed != spec.sha256.lower():
            raise ChecksumError(
                f"cached {path} does not match the pinned sha256; delete it or pass {spec.cli_hint}"
            )


def _check_prefix(path: Path, spec: WeightSpec) -> None:
    """Refuse ``path`` when its SHA-256 does not start with the published ``spec.sha256_prefix``."""
    if spec.sha256_prefix is not None and not sha256_of(path).startswith(spec.sha256_prefix.lower()):
        raise ChecksumError(
            f"{path} does not match the published {spec.name} checksum prefix; "
            f"delete it or pass {spec.cli_hint}"
        )


def _download_from_sources(
    spec: WeightSpec, path: Path, progress: ProgressCallback | bool, timeout: float | None
) -> Path:
    """Try each of ``spec.urls`` in order; say on stderr when one fails and the next is tried."""
    failures: list[WeightsUnavailableError] = []
    for index, url in enumerate(spec.urls):
        try:
            found = download(
                url, path, sha256=spec.sha256, size=spec.size, progress=progress, timeout=timeout,
                cli_hint=spec.cli_hint,
            )  # fmt: skip
            _check_prefix(found, spec)
            return found
        except WeightsUnavailableError as error:
            if len(spec.urls) == 1:
                raise
            if isinstance(error, ChecksumError):  # a source serving another file: drop it, go on
                path.unlink(missing_ok=True)
                _record_path(path).unlink(missing_ok=True)
            failures.append(error)
            if index + 1 < len(spec.urls):
                sys.stderr.write(
                    f"{spec.name} weights: source {index + 1} of {len(spec.urls)} failed "
                    f"({str(error).split('; ')[0]}); trying {spec.urls[index + 1]}\n"
                )
    reasons = "; ".join(str(error).split("; ")[0] for error in failures)
    kind = ChecksumError if all(isinstance(e, ChecksumError) for e in failures) else WeightsUnavailableError
    raise kind(
        f"{spec.name} weights: no source answered ({reasons}); download {Path(spec.filename).name} from "
        f"{' or '.join(spec.urls)} yourself and pass {spec.cli_hint}"
    )


def ensure_weights(
    spec: WeightSpec = DAIN_BEST,
    *,
    allow_download: bool = True,
    progress: ProgressCallback | bool = True,
    timeout: float | None = None,
) -> Path:
    """Path of the cached weights of ``spec``, downloading them into :func:`cache_dir` if needed.

    The sources are tried in order (see the module docstring); ``timeout`` is per source, ``None`` =
    :func:`connect_timeout`. The cached or downloaded file is checked against the pinned size/SHA-256,
    its download record and the published SHA-256 prefix (:class:`ChecksumError`); without the file and
    with ``allow_download=False``, or when every source fails, :class:`WeightsUnavailableError`.
    """
    path = cached_file(spec)
    if path.is_file():
        _verify_cached(path, spec)
    elif not allow_download:
        raise WeightsUnavailableError(
            f"{spec.name} weights are not in the cache ({path}); download {Path(spec.filename).name} from "
            f"{spec.url} and pass {spec.cli_hint}"
        )
    else:
        _download_from_sources(spec, path, progress, timeout)
    _check_prefix(path, spec)
    return path


def existing_weights(weights: str | Path, option: str) -> Path:
    """A weights file the user named with ``option``; :class:`WeightsUnavailableError` when it is missing."""
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(f"{option}: file not found: {path}")
    return path


def resolve_weights(
    spec: WeightSpec,
    weights: str | Path | None = None,
    *,
    allow_download: bool = True,
    progress: ProgressCallback | bool = True,
) -> Path:
    """The checkpoint to load: ``weights`` if given (must exist), else the cached or downloaded ``spec``.

    Raises :class:`WeightsUnavailableError` (a ``ValueError``) with a one-line message naming
    ``spec.cli_hint`` when nothing usable is found.
    """
    if weights is not None:
        return existing_weights(weights, spec.option)
    return ensure_weights(spec, allow_download=allow_download, progress=progress)


def resolve_dain_weights(
    weights: str | Path | None,
    *,
    allow_download: bool = True,
    progress: ProgressCallback | bool = True,
) -> Path:
    """The DAIN checkpoint to load: ``weights`` if given (must exist), else the official :data:`DAIN_BEST`.

    See :func:`resolve_weights`; the message names ``--dain-weights PATH``.
    """
    return resolve_weights(DAIN_BEST, weights, allow_download=allow_download, progress=progress)
