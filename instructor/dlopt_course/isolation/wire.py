"""The grader's side of the sandbox protocol: a strict decoder of what the student's process sends.

A message from the child is ``[8-byte length][4-byte header length][JSON header][raw buffers]``. The
header's values are trees of JSON scalars and tagged nodes (``child._Encoder``). Decoding builds only
genuine ``numpy.ndarray`` objects (numeric dtypes, sizes checked against their buffers), numpy scalars,
Python scalars, tuples, lists and dicts; anything else the student returned becomes an opaque
:class:`StudentObject`. Whatever bytes the child writes, the grader gets plain data or a
:class:`ProtocolError`: no object of the student's making, no pickle.
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np

MAX_MESSAGE = 64 * 1024 * 1024
MAX_HEADER = 8 * 1024 * 1024
MAX_DEPTH = 80
_DTYPE_KINDS = "biufc"


class ProtocolError(RuntimeError):
    """The sandboxed process sent something that is not a valid message."""


class StudentObject:
    """A value from the student's process that is not plain data (a class instance, a closure, ...).

    It has no behaviour of its own: the grader sees its type's name, and can pass it back to the
    student's process (``cache`` objects between ``batchnorm_forward`` and ``batchnorm_backward``).
    A callable one is wrapped by the sandbox as a :class:`~dlopt_course.isolation.sandbox.RemoteFunction`.
    """

    __slots__ = ("number", "type_name", "is_callable")

    def __init__(self, number: int, type_name: str, is_callable: bool):
        self.number, self.type_name, self.is_callable = number, type_name, is_callable

    def __copy__(self):
        return self  # a handle on an object of the student's process: a copy is the same handle

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class RngState:
    """The state of a ``numpy.random.Generator`` after a call (applied to the grader's generator)."""

    def __init__(self, state):
        self.state = state


class CallbackMarker:
    """A grader function the student's code got as an argument, sent back (e.g. kept in a dict)."""

    def __init__(self, number: int):
        self.number = number


class Ref:
    """An argument object the call may have changed in place: ``path`` into the call's arguments."""

    def __init__(self, path: list, value):
        self.path, self.value = path, value


def split_message(payload: bytes) -> tuple[dict, list[bytes]]:
    """The header and the buffers of one message (without its 8-byte length)."""
    if len(payload) < 4:
        raise ProtocolError("a message shorter than its header length")
    size = struct.unpack(">I", payload[:4])[0]
    if size > len(payload) - 4:
        raise ProtocolError("a header longer than the message")
    if size > MAX_HEADER:  # before parsing: a small text can still be a costly tree
        raise ProtocolError(f"a header of {size} bytes (the limit is {MAX_HEADER}; arrays travel as buffers)")
    try:
        header = json.loads(payload[4:4 + size].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError(f"an unreadable header ({error})") from None
    if not isinstance(header, dict):
        raise ProtocolError("the header is not an object")
    lengths = header.get("buffers", [])
    if not isinstance(lengths, list) or not all(type(n) is int and n >= 0 for n in lengths):
        raise ProtocolError("invalid buffer lengths")
    buffers, offset = [], 4 + size
    for length in lengths:
        if offset + length > len(payload):
            raise ProtocolError("a buffer runs past the end of the message")
        buffers.append(payload[offset:offset + length])
        offset += length
    if offset != len(payload):
        raise ProtocolError("trailing bytes after the buffers")
    return header, buffers


def _float(text) -> float:
    if not isinstance(text, str) or text not in ("nan", "inf", "-inf") and not _is_number(text):
        raise ProtocolError(f"invalid float {text!r}")
    return float(text)


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 8:
        raise ProtocolError(f"invalid dtype {text!r}")
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        raise ProtocolError(f"invalid dtype {text!r}") from None
    if dtype.kind not in _DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"dtype {text!r} is not a plain numeric dtype")
    return dtype


def _buffer(node: dict, buffers: list[bytes]) -> bytes:
    index = node.get("b")
    if type(index) is not int or not 0 <= index < len(buffers):
        raise ProtocolError("invalid buffer index")
    return buffers[index]


def decode(node, buffers: list[bytes], depth: int = 0):
    """Build the plain value of a tree node (raises :class:`ProtocolError` on anything else)."""
    if depth > MAX_DEPTH:
        raise ProtocolError("a value nested too deeply")
    kind = type(node)
    if node is None or kind in (bool, str):
        return node
    if kind is int:
        return node
    if kind is float:
        if not math.isfinite(node):
            raise ProtocolError("a non-finite JSON number")
        return node
    if kind is not dict:
        raise ProtocolError(f"an invalid node of type {kind.__name__}")
    tag = node.get("t")
    if tag == "nd":
        dtype = _dtype(node.get("dtype"))
        shape = node.get("shape")
        if not isinstance(shape, list) or len(shape) > 32 or not all(type(n) is int and n >= 0 for n in shape):
            raise ProtocolError("invalid array shape")
        data = _buffer(node, buffers)
        if len(data) != math.prod(shape) * dtype.itemsize:
            raise ProtocolError("an array buffer of the wrong size")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    if tag == "npscalar":
        dtype = _dtype(node.get("dtype"))
        data = _buffer(node, buffers)
        if len(data) != dtype.itemsize:
            raise ProtocolError("a scalar buffer of the wrong size")
        return np.frombuffer(data, dtype=dtype)[0]
    if tag == "float":
        return _float(node.get("v"))
    if tag == "complex":
        return complex(_float(node.get("re")), _float(node.get("im")))
    if tag in ("tuple", "list"):
        items = node.get("v")
        if not isinstance(items, list):
            raise ProtocolError("invalid sequence")
        values = [decode(item, buffers, depth + 1) for item in items]
        return tuple(values) if tag == "tuple" else values
    if tag == "dict":
        items = node.get("v")
        if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise ProtocolError("invalid dict")
        result = {}
        for key, value in items:
            key = decode(key, buffers, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise ProtocolError("an unhashable dict key") from None
            result[key] = decode(value, buffers, depth + 1)
        return result
    if tag == "handle":
        number, name = node.get("id"), node.get("type")
        if type(number) is not int or not isinstance(name, str):
            raise ProtocolError("invalid handle")
        return StudentObject(number, name[:100], node.get("callable") is True)
    if tag == "callback":
        number = node.get("n")
        if type(number) is not int:
            raise ProtocolError("invalid callback marker")
        return CallbackMarker(number)
    if tag == "rng":
        return RngState(decode(node.get("state"), buffers, depth + 1))
    if tag == "ref":
        path = node.get("path")
        if not isinstance(path, list) or not all(type(p) in (str, int) for p in path):
            raise ProtocolError("invalid path")
        return Ref(path, decode(node.get("v"), buffers, depth + 1))
    raise ProtocolError(f"an unknown node {str(tag)[:40]!r}")
