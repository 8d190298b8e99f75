"""Read the weights of an ncnn ``.bin`` file, blob by blob, in the order the layers ask for them.

The ``.bin`` is a plain concatenation with no index (ncnn ``src/modelbin.cpp``). Each layer reads its
weights in its own order, in one of two ways:

* **tagged** (ncnn type 0, the weights of convolutions and inner products): a 4-byte tag, then

  - ``0x01306B47``: fp16 values, padded to 4 bytes;
  - ``0x000D4B38``: int8 values (a quantised model): refused, this reader keeps float weights only;
  - ``0x0002C056``: raw fp32 values;
  - ``0``: raw fp32 values;
  - any other tag with non-zero bytes: a 256-entry fp32 table and one byte per value indexing it;

* **raw** (type 1: biases, PReLU slopes, scales): fp32 values, no tag.

Everything is little-endian. Values are returned as float32 tensors; nothing in the file is executed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from restore.upscale.ncnn.param import NcnnModelError

__all__ = ["FP16_TAG", "INT8_TAG", "RAW_SCALED_TAG", "WeightReader", "read_bin"]

FP16_TAG = 0x01306B47
INT8_TAG = 0x000D4B38
RAW_SCALED_TAG = 0x0002C056
TABLE_SIZE = 256


def _align4(size: int) -> int:
    return (size + 3) // 4 * 4


class WeightReader:
    """Sequential reader over the bytes of a ``.bin`` file.

    data: the file's bytes. name: the file name, for messages.
    ``fp16_blobs`` / ``tagged_blobs`` count how the tagged blobs read so far were stored.
    """

    def __init__(self, data: bytes, name: str = "model.bin") -> None:
        self.data = memoryview(data)
        self.name = name
        self.offset = 0
        self.fp16_blobs = 0
        self.tagged_blobs = 0

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.offset

    def _take(self, size: int, what: str) -> memoryview:
        if size > self.remaining:
            raise NcnnModelError(
                f"{self.name}: truncated: {what} needs {size} bytes at offset {self.offset}, "
                f"the file has {self.remaining} left (is it the .bin of this .param?)"
            )
        chunk = self.data[self.offset : self.offset + size]
        self.offset += size
        return chunk

    @staticmethod
    def _check_count(count: int, what: str) -> None:
        if count <= 0:
            raise NcnnModelError(f"{what}: weight count {count} must be positive")

    def raw(self, count: int, what: str) -> torch.Tensor:
        """``count`` raw fp32 values (ncnn type 1) as a 1-D float32 tensor."""
        self._check_count(count, what)
        values = np.frombuffer(self._take(4 * count, what), dtype="<f4", count=count)
        return torch.from_numpy(values.astype(np.float32))

    def tagged(self, count: int, what: str) -> torch.Tensor:
        """``count`` values stored after a storage tag (ncnn type 0) as a 1-D float32 tensor."""
        self._check_count(count, what)
        head = bytes(self._take(4, what))
        tag = int.from_bytes(head, "little")
        self.tagged_blobs += 1
        if tag == FP16_TAG:
            self.fp16_blobs += 1
            chunk = self._take(_align4(2 * count), what)
            values = np.frombuffer(chunk, dtype="<f2", count=count).astype(np.float32)
        elif tag == INT8_TAG:
            raise NcnnModelError(
                f"{self.name}: {what} is stored as quantised int8; only fp32/fp16 ncnn models are supported"
            )
        elif tag == RAW_SCALED_TAG or tag == 0:
            values = np.frombuffer(self._take(4 * count, what), dtype="<f4", count=count).astype(np.float32)
        else:  # an 8-bit index into a table of 256 float values
            table = np.frombuffer(self._take(4 * TABLE_SIZE, what), dtype="<f4").astype(np.float32)
            indices = np.frombuffer(self._take(_align4(count), what), dtype=np.uint8, count=count)
            values = table[indices]
        return torch.from_numpy(np.ascontiguousarray(values))


def read_bin(path: str | Path, param_name: str = "model.param") -> WeightReader:
    """A :class:`WeightReader` over ``path``; :class:`NcnnModelError` when the file is missing."""
    path = Path(path)
    if not path.is_file():
        raise NcnnModelError(
            f"{param_name}: its weights file {path.name} is missing (an ncnn model is a .param and a "
            f".bin of the same name in the same folder)"
        )
    return WeightReader(path.read_bytes(), path.name)
