"""Read float32 initializers out of a serialized ONNX model without the ``onnx`` package.

An ONNX file is one protobuf ``ModelProto``; the weights are ``TensorProto``
initializers of its graph. Only the few fields needed here are decoded.

Example:

>>> import numpy as np
>>> tensor = bytes([0x08, 2, 0x10, 1, 0x42, 1]) + b"w" + bytes([0x4A, 8]) + np.float32([1, 2]).tobytes()
>>> graph = bytes([0x2A, len(tensor)]) + tensor
>>> model = bytes([0x3A, len(graph)]) + graph
>>> read_float_initializers(model, {"w"})["w"].tolist()
[1.0, 2.0]
"""

import numpy as np


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """Yield (field number, wire type, value) of one serialized protobuf message.

    Varints come back as ints, everything else as memoryview slices.
    """
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire in (1, 2, 5):
            if wire == 2:
                size, pos = _varint(buf, pos)
            else:
                size = 8 if wire == 1 else 4
            if pos + size > end:
                raise ValueError("truncated protobuf message")
            value, pos = buf[pos:pos + size], pos + size
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _packed_varints(buf):
    pos, values = 0, []
    while pos < len(buf):
        value, pos = _varint(buf, pos)
        values.append(value)
    return values


def read_float_initializers(model_bytes: bytes, names: set[str]) -> dict[str, np.ndarray]:
    """Return ``{name: float32 array}`` for the named initializers of an ONNX model.

    onnx.proto field numbers: ModelProto.graph 7; GraphProto.initializer 5;
    TensorProto dims 1, data_type 2 (1 = FLOAT), float_data 4, name 8,
    raw_data 9, data_location 14 (1 = EXTERNAL). Raises ``ValueError`` when a
    name is missing, not float32 data stored in the file, or the message is
    damaged.

    Example:

    >>> read_float_initializers(b"", {"w"})
    Traceback (most recent call last):
    ...
    ValueError: 1 conv initializers missing, e.g. w
    """
    found = {}
    for number, _, graph in _fields(memoryview(model_bytes)):
        if number != 7:
            continue
        for gnumber, _, tensor in _fields(graph):
            if gnumber != 5:
                continue
            name, dims, dtype, chunks, external = None, [], None, [], False
            for tnumber, wire, value in _fields(tensor):
                if tnumber == 1:
                    dims.extend([value] if wire == 0 else _packed_varints(value))
                elif tnumber == 2:
                    dtype = value
                elif tnumber in (4, 9):
                    chunks.append(bytes(value))
                elif tnumber == 8:
                    name = bytes(value).decode("utf-8")
                elif tnumber == 14:
                    external = value == 1
            if name not in names:
                continue
            if dtype != 1 or external:
                raise ValueError(f"initializer {name} is not stored as float32 data")
            array = np.frombuffer(b"".join(chunks), dtype="<f4")
            if array.size != int(np.prod(dims)):
                raise ValueError(f"initializer {name} has {array.size} values for shape {dims}")
            found[name] = array.reshape(dims).astype(np.float32)
    missing = sorted(set(names) - set(found))
    if missing:
        raise ValueError(f"{len(missing)} conv initializers missing, e.g. {missing[0]}")
    return found
