"""The wire between the grader and the probe: plain bounded data, decoded under limits."""
from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from autograder.harness import wire


def roundtrip(value, header=None):
    return wire.receive(io.BytesIO(wire.pack(header or {}, value)).read)


def test_plain_values_survive():
    value = (1.5, 2, True, "text", None, [np.arange(3), np.float64(2.5)], {"k": np.eye(2, dtype=np.float32)})
    _, got = roundtrip(value)
    assert got[:5] == (1.5, 2, True, "text", None)
    assert np.array_equal(got[5][0], np.arange(3)) and got[5][0].dtype == np.int64
    assert got[5][1].shape == () and float(got[5][1]) == 2.5
    assert got[6]["k"].dtype == np.float32 and np.array_equal(got[6]["k"], np.eye(2))


def test_values_that_would_run_code_are_not_converted():
    calls = []

    class F(float):
        def __float__(self):
            calls.append(1)
            return 0.0

    class A(np.ndarray):
        pass

    class Lazy:
        def __array__(self, *a, **k):
            calls.append(1)
            return np.zeros(1)

    _, got = roundtrip((F(1.0), np.zeros(3).view(A), Lazy(), np.array(["x"])))
    assert all(isinstance(v, wire.Unsupported) for v in got)
    assert calls == []


def _raw(header: dict, tail: bytes = b"") -> bytes:
    head = json.dumps(header).encode()
    return struct.pack(">I", len(head)) + head + tail


@pytest.mark.parametrize("message,fragment", [
    (struct.pack(">I", 10**8), "header of"),
    (_raw({"value": {"a": 0}, "arrays": [{"dtype": "f8", "shape": [10**7, 1]}]}), "shape is out of range"),
    (_raw({"value": {"a": 0}, "arrays": [{"dtype": "f8", "shape": [2000, 2000]}]}), "elements is larger"),
    (_raw({"value": {"a": 0}, "arrays": [{"dtype": "O", "shape": [1]}]}), "dtype or shape"),
    (_raw({"value": {"a": 3}, "arrays": []}), "out of range"),
    (_raw({"value": {"zz": 1}, "arrays": []}), "unknown value node"),
    (_raw({"value": {"t": [{"n": None}] * 100}, "arrays": []}), "too long"),
])
def test_hostile_messages_are_refused_before_anything_is_built(message, fragment):
    with pytest.raises(wire.WireError, match=fragment):
        wire.receive(io.BytesIO(message).read)


def test_deep_nesting_is_refused():
    node = {"n": None}
    for _ in range(50):
        node = {"l": [node]}
    with pytest.raises(wire.WireError, match="nested too deeply"):
        wire.receive(io.BytesIO(_raw({"value": node, "arrays": []})).read)
    # 100,000 levels of JSON nesting: refused, not a crash of the grader.
    deep = b'{"value": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(wire.WireError):
        wire.receive(io.BytesIO(struct.pack(">I", len(deep)) + deep).read)


def test_a_cut_stream_is_an_end_not_a_hang():
    data = wire.pack({"op": "x"}, np.zeros(10))
    with pytest.raises(EOFError):
        wire.receive(io.BytesIO(data[:-5]).read)


def test_encoder_limits():
    arrays = []
    assert "u" in wire.encode(np.zeros(wire.MAX_ARRAY_ELEMENTS + 1), arrays)
    assert "u" in wire.encode(list(range(100)), arrays)
    assert "u" in wire.encode(2**70, arrays)
    assert len(wire.encode("x" * 10_000, arrays)["s"]) <= wire.MAX_TEXT + 3
