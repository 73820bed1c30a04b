"""The wire between the grader and the probe: framed messages of plain, bounded data.

Both sides import this module; it needs only numpy and the standard library. A message is

    4 bytes  big-endian length H of the header
    H bytes  the header: UTF-8 JSON object; its "value" is an encoded tree (below)
    then     the raw bytes of each array the tree names, in order, sized by dtype and shape

An encoded tree holds only these nodes (one key each):
``{"f": float}``, ``{"i": int}``, ``{"b": bool}``, ``{"s": str}``, ``{"n": null}``,
``{"t": [nodes]}`` (tuple), ``{"l": [nodes]}`` (list), ``{"d": {str: node}}`` (dict),
``{"a": k}`` (the k-th array: ``header["arrays"][k]`` gives its dtype and shape) and
``{"u": str}`` (a value that is not plain data, with its description).

:func:`encode` accepts only values of exactly these types (``float``, ``int``, ``bool``,
``str``, ``None``, ``tuple``, ``list``, ``dict`` with str keys, numpy scalars and numpy arrays
of a numeric dtype, exactly ``np.ndarray``); a subclass of any of them is reported as
unsupported without being converted, since converting it would run its code.
:func:`decode` checks every limit before it allocates anything, so a hostile sender cannot
make the reader build a large or deeply nested object.
"""
from __future__ import annotations

import json
import os
import struct

import numpy as np

MAX_HEADER_BYTES = 1_000_000
MAX_MESSAGE_BYTES = 64_000_000
MAX_ARRAY_ELEMENTS = 2_000_000
MAX_ITEMS = 16          # items of one tuple, list or dict
MAX_DEPTH = 6
MAX_TEXT = 2000
DTYPES = {"f8": np.float64, "f4": np.float32, "i8": np.int64, "i4": np.int32, "b1": np.bool_,
          "u1": np.uint8, "i2": np.int16, "u8": np.uint64, "u4": np.uint32, "u2": np.uint16,
          "i1": np.int8, "f2": np.float16}


class WireError(ValueError):
    """A message that breaks the protocol or a limit; the text says which."""


def _short(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "..."


def _dtype_code(dtype: np.dtype) -> str | None:
    for code, kind in DTYPES.items():
        if dtype == np.dtype(kind):
            return code
    return None


def encode(value, arrays: list, depth: int = 0):
    """The tree for value; arrays (a list) collects copies of the arrays it names."""
    kind = type(value)
    if depth > MAX_DEPTH:
        return {"u": "nested too deeply"}
    if value is None:
        return {"n": None}
    if kind is bool:
        return {"b": value}
    if kind is int:
        return {"i": value} if abs(value) < 2**62 else {"u": "an int too large"}
    if kind is float:
        return {"f": value}
    if kind is str:
        return {"s": _short(value)}
    if kind in (tuple, list):
        if len(value) > MAX_ITEMS:
            return {"u": f"a {kind.__name__} of {len(value)} items"}
        return {"t" if kind is tuple else "l": [encode(v, arrays, depth + 1) for v in value]}
    if kind is dict:
        if len(value) > MAX_ITEMS or not all(type(k) is str for k in value):
            return {"u": "a dict that is not a few str keys"}
        return {"d": {_short(k): encode(v, arrays, depth + 1) for k, v in value.items()}}
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        value = np.asarray(value)
        kind = np.ndarray
    if kind is np.ndarray:
        code = _dtype_code(value.dtype)
        if code is None:
            return {"u": _short(f"an array of dtype {value.dtype}")}
        if value.size > MAX_ARRAY_ELEMENTS:
            return {"u": f"an array of {value.size} elements"}
        arrays.append(np.array(value, dtype=DTYPES[code], copy=True, order="C"))
        return {"a": len(arrays) - 1}
    return {"u": _short(f"a {kind.__name__} object, not a number, a tuple or a numpy array")}


def pack(header: dict, value=None) -> bytes:
    """One message: header (a JSON-able dict) with value encoded into it."""
    arrays: list = []
    header = dict(header)
    header["value"] = encode(value, arrays)
    header["arrays"] = [{"dtype": _dtype_code(a.dtype), "shape": list(a.shape)} for a in arrays]
    head = json.dumps(header, allow_nan=True).encode("utf-8", "surrogatepass")
    return struct.pack(">I", len(head)) + head + b"".join(a.tobytes() for a in arrays)


def _read_exact(read, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = read(left)
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _check_tree(node, n_arrays: int, depth: int = 0) -> None:
    if depth > MAX_DEPTH + 1:
        raise WireError("the value is nested too deeply")
    if not isinstance(node, dict) or len(node) != 1:
        raise WireError("a value node is malformed")
    (key, item), = node.items()
    if key in ("t", "l"):
        if not isinstance(item, list) or len(item) > MAX_ITEMS:
            raise WireError("a sequence is malformed or too long")
        for child in item:
            _check_tree(child, n_arrays, depth + 1)
    elif key == "d":
        if not isinstance(item, dict) or len(item) > MAX_ITEMS:
            raise WireError("a dict is malformed or too long")
        for child in item.values():
            _check_tree(child, n_arrays, depth + 1)
    elif key == "a":
        if type(item) is not int or not 0 <= item < n_arrays:
            raise WireError("an array reference is out of range")
    elif key == "f":
        if type(item) not in (float, int):
            raise WireError("a float node holds no number")
    elif key == "i":
        if type(item) is not int:
            raise WireError("an int node holds no int")
    elif key == "b":
        if type(item) is not bool:
            raise WireError("a bool node holds no bool")
    elif key in ("s", "u"):
        if not isinstance(item, str) or len(item) > MAX_TEXT + 3:
            raise WireError("a text node is malformed or too long")
    elif key == "n":
        if item is not None:
            raise WireError("a null node is malformed")
    else:
        raise WireError(f"unknown value node {key[:20]!r}")


class Unsupported(str):
    """A returned value that was not plain data (its description)."""


def _build(node, arrays):
    (key, item), = node.items()
    if key == "t":
        return tuple(_build(c, arrays) for c in item)
    if key == "l":
        return [_build(c, arrays) for c in item]
    if key == "d":
        return {k: _build(c, arrays) for k, c in item.items()}
    if key == "a":
        return arrays[item]
    if key == "f":
        return float(item)
    if key in ("i", "b", "n"):
        return item
    if key == "s":
        return str(item)
    return Unsupported(item)


def receive(read, max_bytes: int = MAX_MESSAGE_BYTES) -> tuple[dict, object]:
    """Read one message with read(n) -> bytes; return (header, decoded value).

    Raises EOFError when the stream ends, WireError when the message breaks a limit.
    """
    (length,) = struct.unpack(">I", _read_exact(read, 4))
    if length > MAX_HEADER_BYTES:
        raise WireError(f"a header of {length} bytes is larger than {MAX_HEADER_BYTES}")
    try:
        header = json.loads(_read_exact(read, length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise WireError(f"the header is not JSON ({type(err).__name__})") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays", []), list):
        raise WireError("the header is not an object with an array list")
    specs = header.get("arrays", [])
    sizes, total = [], 0
    for spec in specs:
        if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES or not isinstance(spec.get("shape"), list):
            raise WireError("an array's dtype or shape is malformed")
        shape = spec["shape"]
        if len(shape) > 4 or not all(type(d) is int and 0 <= d <= MAX_ARRAY_ELEMENTS for d in shape):
            raise WireError("an array's shape is out of range")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count > MAX_ARRAY_ELEMENTS:
            raise WireError(f"an array of {count} elements is larger than {MAX_ARRAY_ELEMENTS}")
        size = count * np.dtype(DTYPES[spec["dtype"]]).itemsize
        total += size
        if total > max_bytes:
            raise WireError(f"the message's arrays exceed {max_bytes} bytes")
        sizes.append((size, spec))
    _check_tree(header.get("value", {"n": None}), len(specs))
    arrays = []
    for size, spec in sizes:
        raw = _read_exact(read, size)
        arrays.append(np.frombuffer(raw, dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"]).copy())
    return header, _build(header.get("value", {"n": None}), arrays)


def fd_reader(fd: int):
    """read(n) for a raw file descriptor."""
    return lambda n: os.read(fd, min(n, 1 << 20))


def send(fd: int, header: dict, value=None) -> None:
    """Write one message to a raw file descriptor."""
    data = memoryview(pack(header, value))
    while data:
        written = os.write(fd, data)
        data = data[written:]
