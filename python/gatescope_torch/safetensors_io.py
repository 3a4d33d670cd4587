"""The safetensors format, read and written with torch and the standard library alone.

A file is an 8-byte little-endian header length N, N bytes of UTF-8 JSON
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the tensor bytes
(little-endian, row-major; offsets count from the end of the header). Written exactly as Gatescope's
src/engine/safetensors.ts writes it: the metadata first, the tensors in the order given, no spaces in the JSON,
the header padded with spaces so that the data starts at a multiple of 8. The `safetensors` package is not needed.

Also here: JSON as JavaScript's JSON.stringify writes it (numbers included), so that a file loaded and saved again
is the same file byte for byte.
"""
import json
import math
import struct
import sys
from decimal import Decimal

import torch

METADATA_KEY = "__metadata__"
MAX_HEADER_BYTES = 100 * 1024 * 1024  # as Gatescope's loader: a header is names, shapes and offsets

_DTYPES = {  # safetensors dtype → (torch dtype, bytes per element); integers are no model's parameters
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
}


class FormatError(ValueError):
    """A file that is not a usable safetensors file; the message says what is wrong."""


def _native(raw, dtype, size):
    """A tensor over little-endian bytes (copied), on any host."""
    t = torch.frombuffer(bytearray(raw), dtype=torch.uint8)
    if sys.byteorder != "little" and size > 1:
        t = t.view(-1, size).flip(1).contiguous().view(-1)
    return t.view(dtype)


def read_safetensors(path):
    """Returns ({name: float32 tensor}, {key: str}) in the order of the header. F64, F16 and BF16 become F32."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise FormatError(f"{path}: {len(raw)} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(raw):
        raise FormatError(f"{path}: the header length {n} does not fit the file ({len(raw)} bytes)")
    try:
        header = json.loads(raw[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(f"{path}: the header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise FormatError(f"{path}: the header is not a JSON object")
    meta = header.pop(METADATA_KEY, None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise FormatError(f"{path}: __metadata__ must map strings to strings")
    base = 8 + n
    tensors = {}
    spans = []
    for name, entry in header.items():
        if not isinstance(entry, dict):
            raise FormatError(f"{path}: tensor {name!r} is not described by an object")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if dtype not in _DTYPES:
            raise FormatError(f"{path}: tensor {name!r} has dtype {dtype!r}; a model's tensors are F32 (or F16, BF16, F64)")
        ok_shape = isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ok_offsets = (isinstance(offsets, list) and len(offsets) == 2 and
                      all(isinstance(o, int) and not isinstance(o, bool) for o in offsets) and 0 <= offsets[0] <= offsets[1])
        if not ok_shape or not ok_offsets:
            raise FormatError(f"{path}: tensor {name!r} has a malformed shape or data_offsets")
        torch_dtype, size = _DTYPES[dtype]
        count = math.prod(shape)
        begin, end = offsets
        if end - begin != count * size or base + end > len(raw):
            raise FormatError(f"{path}: tensor {name!r} of shape {shape} does not match its data_offsets {offsets}")
        spans.append((begin, end, name))
        tensors[name] = _native(raw[base + begin:base + end], torch_dtype, size).float().reshape(shape)
    spans.sort()
    for (_, e0, a), (b1, _, b) in zip(spans, spans[1:]):
        if b1 < e0:
            raise FormatError(f"{path}: the data of tensors {a!r} and {b!r} overlap")
    return tensors, meta


def encode_safetensors(tensors, metadata):
    """The bytes of a file holding `tensors` [(name, tensor)] as F32 and `metadata` {str: str}."""
    parts = []
    if metadata:
        fields = ",".join(f"{js_string(k)}:{js_string(v)}" for k, v in metadata.items())
        parts.append(f'"{METADATA_KEY}":{{{fields}}}')
    datas = []
    offset = 0
    for name, t in tensors:
        t = t.detach().to("cpu", torch.float32).contiguous()
        n = 4 * t.numel()
        shape = ",".join(str(d) for d in t.shape)
        parts.append(f'{js_string(name)}:{{"dtype":"F32","shape":[{shape}],"data_offsets":[{offset},{offset + n}]}}')
        datas.append(t)
        offset += n
    header = ("{" + ",".join(parts) + "}").encode("utf-8")
    length = len(header) + (8 - (8 + len(header)) % 8) % 8
    out = bytearray(8 + length + offset)
    out[:8] = struct.pack("<Q", length)
    out[8:8 + len(header)] = header
    out[8 + len(header):8 + length] = b" " * (length - len(header))
    at = 8 + length
    for t in datas:
        n = 4 * t.numel()
        if n:
            # write through a float32 view of the output bytes: no numpy, no per-element Python
            view = torch.frombuffer(out, dtype=torch.uint8, offset=at, count=n)
            src = t.reshape(-1).view(torch.uint8)
            if sys.byteorder != "little":
                src = src.view(-1, 4).flip(1).reshape(-1)
            view.copy_(src)
        at += n
    return bytes(out)


# ---- JSON as JavaScript writes it ------------------------------------------------------------------------------

def js_string(s):
    """JSON.stringify(s) for a well-formed string: Python's escapes are JavaScript's when ensure_ascii is off."""
    return json.dumps(s, ensure_ascii=False)


def js_number(x):
    """Number.prototype.toString: the shortest round-trip digits (as repr), laid out by ECMAScript's rules."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if not math.isfinite(x):
        return "null"  # JSON.stringify(NaN)
    if x == 0:
        return "0"
    sign, digits, exp = Decimal(repr(abs(x))).normalize().as_tuple()
    s = "".join(map(str, digits))
    k = len(s)
    n = k + exp  # value = 0.s × 10^n
    if k <= n <= 21:
        body = s + "0" * (n - k)
    elif 0 < n <= 21:
        body = s[:n] + "." + s[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + s
    else:
        e = n - 1
        body = (s if k == 1 else s[0] + "." + s[1:]) + "e" + ("+" if e >= 0 else "-") + str(abs(e))
    return ("-" if x < 0 else "") + body


def js_json(v):
    """JSON.stringify(v) for dicts (in their order), lists, strings, numbers, booleans and None."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return js_number(v)
    if isinstance(v, str):
        return js_string(v)
    if isinstance(v, dict):
        return "{" + ",".join(f"{js_string(str(k))}:{js_json(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(js_json(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as JSON")
