"""Read an ncnn ``.param`` file: the layer graph in ncnn's text format, as plain data.

The format (Tencent/ncnn wiki, "param and model file structure"; ``src/paramdict.cpp``)::

    7767517                                    magic
    40 41                                      layer count, blob count
    Convolution  Conv_0  1 1  data 54  0=64 1=3 4=1 5=1 6=1728
    type         name    bottoms tops  their blob names  key=value ...

A value containing ``.`` or ``e`` is a float, anything else an int. A key ``<= -23300`` holds an array
with id ``-key - 23300``: ``-23310=2,-4,-4`` is array 10 with the two ints -4, -4 (count first).

ncnn keeps each value as 32 raw bits and the layer decides how to read them, so an int read as a float
is the float with those bits: waifu2x's ``-23310=1,1036831949`` is the slope 0.1 (0x3DCCCCCD). The
accessors of :class:`LayerSpec` do the same. Nothing in the file is evaluated: tokens are split on
whitespace and converted with ``int``/``float``.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dain.checkpoint import CheckpointError

__all__ = [
    "MAGIC",
    "LayerSpec",
    "NcnnModelError",
    "ParamGraph",
    "ParamValue",
    "parse_param_text",
    "read_param",
]

MAGIC = "7767517"
ARRAY_KEY_BASE = -23300
MAX_PARAM_BYTES = 16 * 1024 * 1024  # real .param files are a few kB; refuse anything absurd unread
_KEY_VALUE = re.compile(r"^(-?\d+)=(\S+)$")


class NcnnModelError(CheckpointError):
    """An ncnn model that cannot be used: missing/bad files or an unsupported layer (one line)."""


@dataclass(frozen=True)
class ParamValue:
    """One 32-bit value as written: ``is_float`` says how the text was parsed."""

    value: int | float
    is_float: bool

    def as_int(self) -> int:
        """The value read as an int (a float's bits reinterpreted, as ncnn does)."""
        if self.is_float:
            return struct.unpack("<i", struct.pack("<f", float(self.value)))[0]
        return int(self.value)

    def as_float(self) -> float:
        """The value read as a float32 (an int's bits reinterpreted, as ncnn does)."""
        if self.is_float:
            return struct.unpack("<f", struct.pack("<f", float(self.value)))[0]
        return struct.unpack("<f", struct.pack("<i", int(self.value)))[0]


@dataclass(frozen=True)
class LayerSpec:
    """One layer line: type, name, bottom/top blob names and its ``key=value`` parameters."""

    type: str
    name: str
    bottoms: tuple[str, ...]
    tops: tuple[str, ...]
    params: Mapping[int, ParamValue]
    arrays: Mapping[int, tuple[ParamValue, ...]]
    line: int

    def fail(self, message: str) -> NcnnModelError:
        """A one-line error naming this layer."""
        return NcnnModelError(f"layer {self.name!r} ({self.type}, line {self.line}): {message}")

    def int(self, key: int, default: int) -> int:
        """Integer parameter ``key`` (``default`` when absent)."""
        if key in self.arrays:
            raise self.fail(f"parameter {key} is an array, expected one value")
        value = self.params.get(key)
        return default if value is None else value.as_int()

    def float(self, key: int, default: float) -> float:
        """Float parameter ``key`` (``default`` when absent)."""
        if key in self.arrays:
            raise self.fail(f"parameter {key} is an array, expected one value")
        value = self.params.get(key)
        return default if value is None else value.as_float()

    def ints(self, key: int) -> tuple[int, ...]:
        """Integer array parameter ``key`` (empty when absent)."""
        return tuple(value.as_int() for value in self._array(key))

    def floats(self, key: int) -> tuple[float, ...]:
        """Float array parameter ``key`` (empty when absent)."""
        return tuple(value.as_float() for value in self._array(key))

    def _array(self, key: int) -> tuple[ParamValue, ...]:
        if key in self.params:
            raise self.fail(f"parameter {key} is one value, expected an array ({ARRAY_KEY_BASE - key}=...)")
        return self.arrays.get(key, ())


@dataclass(frozen=True)
class ParamGraph:
    """A parsed ``.param`` file: the layers in file order and the declared blob count."""

    name: str
    layers: tuple[LayerSpec, ...]
    blob_count: int


def _value(text: str, where: str) -> ParamValue:
    """``"1.0e-1"`` -> float, ``"-233"`` -> int, as ncnn's ``vstr_is_float`` decides."""
    is_float = "." in text or "e" in text.lower()
    try:
        return ParamValue(float(text) if is_float else int(text, 10), is_float)
    except ValueError:
        raise NcnnModelError(f"{where}: {text!r} is not a number") from None


def _parse_layer(tokens: list[str], number: int, name: str) -> LayerSpec:
    where = f"{name} line {number}"
    if len(tokens) < 4:
        raise NcnnModelError(f"{where}: a layer line needs type, name, bottom count and top count")
    layer_type, layer_name = tokens[0], tokens[1]
    try:
        bottom_count, top_count = int(tokens[2]), int(tokens[3])
    except ValueError:
        raise NcnnModelError(
            f"{where}: bottom/top counts {tokens[2]!r} {tokens[3]!r} are not integers"
        ) from None
    if bottom_count < 0 or top_count < 0 or 4 + bottom_count + top_count > len(tokens):
        raise NcnnModelError(f"{where}: layer {layer_name!r} names fewer blobs than its counts say")
    bottoms = tuple(tokens[4 : 4 + bottom_count])
    tops = tuple(tokens[4 + bottom_count : 4 + bottom_count + top_count])
    params: dict[int, ParamValue] = {}
    arrays: dict[int, tuple[ParamValue, ...]] = {}
    for token in tokens[4 + bottom_count + top_count :]:
        match = _KEY_VALUE.match(token)
        if match is None:
            raise NcnnModelError(f"{where}: {token!r} is not a key=value parameter")
        key, text = int(match.group(1)), match.group(2)
        if key <= ARRAY_KEY_BASE:
            fields = text.split(",")
            count = _value(fields[0], where)
            if count.is_float or count.as_int() != len(fields) - 1:
                raise NcnnModelError(f"{where}: array {token!r} does not hold the count it starts with")
            arrays[ARRAY_KEY_BASE - key] = tuple(_value(field, where) for field in fields[1:])
        elif key < 0:
            raise NcnnModelError(f"{where}: parameter key {key} is out of range")
        else:
            params[key] = _value(text, where)
    return LayerSpec(layer_type, layer_name, bottoms, tops, params, arrays, number)


def parse_param_text(text: str, name: str = "model.param") -> ParamGraph:
    """Parse the text of a ``.param`` file; :class:`NcnnModelError` (one line) when it is malformed."""
    lines = [(number, line.split()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, tokens) for number, tokens in lines if tokens]
    if not lines or lines[0][1] != [MAGIC]:
        raise NcnnModelError(
            f"{name}: not an ncnn text .param file (the first line must be the magic number {MAGIC})"
        )
    if len(lines) < 2 or len(lines[1][1]) != 2:
        raise NcnnModelError(f"{name}: the second line must hold the layer count and the blob count")
    try:
        layer_count, blob_count = (int(token) for token in lines[1][1])
    except ValueError:
        raise NcnnModelError(f"{name}: the layer and blob counts are not integers") from None
    body = lines[2:]
    if layer_count <= 0 or layer_count != len(body):
        raise NcnnModelError(f"{name}: declares {layer_count} layers but has {len(body)} layer lines")
    layers = tuple(_parse_layer(tokens, number, name) for number, tokens in body)
    tops = sum(len(layer.tops) for layer in layers)
    if tops > blob_count:
        raise NcnnModelError(f"{name}: declares {blob_count} blobs but its layers make {tops}")
    return ParamGraph(name, layers, blob_count)


def read_param(path: str | Path) -> ParamGraph:
    """Read and parse ``path`` (a text ``.param``); :class:`NcnnModelError` when missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise NcnnModelError(f"{path}: no such ncnn .param file")
    if path.stat().st_size > MAX_PARAM_BYTES:
        raise NcnnModelError(f"{path.name}: {path.stat().st_size} bytes is too large for an ncnn .param file")
    data = path.read_bytes()
    if data[:4] == struct.pack("<i", int(MAGIC)):
        raise NcnnModelError(f"{path.name}: binary .param.bin files are not supported; use the text .param")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NcnnModelError(f"{path.name}: not a text ncnn .param file") from None
    return parse_param_text(text, path.name)
