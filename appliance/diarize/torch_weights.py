"""Reads a PyTorch weights file of the legacy (pre-zip) format into numpy arrays, without torch.

Resemblyzer's `pretrained.pt` was saved that way: a few small pickles (magic number, protocol,
system info), the pickled object whose tensors point at storages by key, the list of storage
keys, then each storage's raw little-endian data after its element count. Only plain tensors
of the dtypes below are understood; anything else is a ModelMissing with the reason.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.errors import ModelMissing

MAGIC = 0x1950A86A20F9469CFC6C
DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
          "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: type


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, offset, shape, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage, offset, tuple(shape), tuple(stride))


class _Unpickler(pickle.Unpickler):
    # Only the names a state dict of plain tensors needs: nothing else is ever constructed.
    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in DTYPES:
            return DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected {module}.{name}")

    def __init__(self, file) -> None:
        super().__init__(file)
        self.item_sizes: dict[str, int] = {}

    def persistent_load(self, pid):
        _kind, dtype, key, _location, _size, _view = pid
        self.item_sizes[key] = np.dtype(dtype).itemsize
        return _StorageRef(key, dtype)


def load_state_dict(path: Path) -> dict:
    """The saved object with every tensor as a numpy array."""
    try:
        with open(path, "rb") as file:
            if pickle.load(file) != MAGIC:
                raise pickle.UnpicklingError("not a legacy PyTorch file")
            pickle.load(file)  # protocol version
            pickle.load(file)  # system info
            unpickler = _Unpickler(file)
            saved = unpickler.load()
            storages = {}
            for key in pickle.load(file):
                count = struct.unpack("<q", file.read(8))[0]
                storages[key] = file.read(count * unpickler.item_sizes[key])
    except (OSError, EOFError, KeyError, ValueError, struct.error, pickle.UnpicklingError) as exc:
        raise ModelMissing(f"cannot read the weights in {path}: {exc}") from None
    return _materialise(saved, storages)


def _materialise(value, storages: dict[str, bytes]):
    if isinstance(value, dict):
        return {k: _materialise(v, storages) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_materialise(v, storages) for v in value)
    if isinstance(value, _TensorRef):
        flat = np.frombuffer(storages[value.storage.key], dtype=np.dtype(value.storage.dtype).newbyteorder("<"))
        size = flat.itemsize
        return np.lib.stride_tricks.as_strided(
            flat[value.offset:], shape=value.shape, strides=tuple(s * size for s in value.stride)).copy()
    return value
