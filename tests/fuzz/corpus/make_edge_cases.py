#!/usr/bin/env python3
"""Writes the edge-case seeds of the fuzz corpus (tests/fuzz/README.md): small hostile files for
each harness, next to the real small files copied from the families' goldens. Run from anywhere:
python3 tests/fuzz/corpus/make_edge_cases.py (the files are committed; rerun after changing it)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(harness, name, data):
    os.makedirs(os.path.join(HERE, harness), exist_ok=True)
    with open(os.path.join(HERE, harness, name), "wb") as f:
        f.write(data)


# ---- zip + pickle (torch_checkpoint) ---------------------------------------------------------

def zip_stored(files, central_size=None, extra=b""):
    out, central = b"", b""
    for name, data in files:
        n = name.encode()
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, len(data), len(data), len(n), 0) + n + data
        size = len(data) if central_size is None else central_size
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, size, size, len(n),
                               len(extra), 0, 0, 0, 0, off) + n + extra
    cd = len(out)
    return out + central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(central), cd, 0)


def uni(s):
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def long8(v):
    return b"\x8a\x08" + struct.pack("<q", v)


OD = b"ccollections\nOrderedDict\n)R"


def tensor(key, numel, size, stride, offset=0, storage="FloatStorage"):
    p = b"ctorch._utils\n_rebuild_tensor_v2\n("
    p += b"(" + uni("storage") + b"ctorch\n" + storage.encode() + b"\n" + uni(key) + uni("cpu") + long8(numel) + b"tQ"
    p += long8(offset) + b"(" + b"".join(long8(s) for s in size) + b"t(" + b"".join(long8(s) for s in stride)
    return p + b"t\x89" + OD + b"tR"


def state(t):
    return b"\x80\x02" + OD + uni("w") + t + b"s."


def ck(pkl, storages=()):
    return zip_stored([("ck/data.pkl", pkl)] + [("ck/data/" + k, d) for k, d in storages])


F4 = struct.pack("<4f", 1, 2, 3, 4)
write("torch_checkpoint", "ok_one_tensor.pth", ck(state(tensor("0", 4, [2, 2], [2, 1])), [("0", F4)]))
write("torch_checkpoint", "ok_transposed_view.pth", ck(state(tensor("0", 4, [2, 2], [1, 2])), [("0", F4)]))
write("torch_checkpoint", "self_referencing_list.pth", ck(b"\x80\x02]\x94h\x00a."))
write("torch_checkpoint", "nested_5000_deep.pth", ck(b"\x80\x02]" + b"\x85" * 5000 + b"."))
write("torch_checkpoint", "stride0_huge_view.pth", ck(state(tensor("0", 1, [1 << 20, 1 << 20], [0, 0])), [("0", F4[:4])]))
write("torch_checkpoint", "shape_stride_overflow.pth", ck(state(tensor("0", 4, [1 << 62, 1], [4, 1])), [("0", F4)]))
write("torch_checkpoint", "storage_declares_2e40.pth", ck(state(tensor("0", 1 << 40, [2], [1])), [("0", F4)]))
write("torch_checkpoint", "storage_dtype_mismatch.pth", ck(state(tensor("0", 4, [4], [1], 0, "DoubleStorage")), [("0", F4)]))
write("torch_checkpoint", "central_size_4gb.pth", zip_stored([("ck/data.pkl", state(tensor("0", 4, [4], [1])))], 0xFFFFFFF0))
write("torch_checkpoint", "zip64_extra_overrun.pth",
      zip_stored([("ck/data.pkl", b"\x80\x02N.")], 0xFFFFFFFF, struct.pack("<HH", 1, 60000)))
write("torch_checkpoint", "forbidden_global.pth", ck(b"\x80\x02cos\nsystem\n" + uni("true") + b"\x85R."))

# ---- safetensors -----------------------------------------------------------------------------

def st(header, data_len, declared=None):
    h = header.encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h) if declared is None else declared) + h + b"\0" * data_len


def hdr(**tensors):
    return json.dumps({k: {"dtype": d, "shape": s, "data_offsets": o} for k, (d, s, o) in tensors.items()})


write("safetensors", "ok_two_tensors.safetensors", st(hdr(a=("F32", [2], [0, 8]), b=("F16", [2, 2], [8, 16])), 16))
write("safetensors", "header_length_past_end.safetensors", st(hdr(a=("F32", [1], [0, 4])), 4, 1000))
write("safetensors", "header_length_huge.safetensors", st("{}", 0, (1 << 64) - 1))
write("safetensors", "offsets_overlap.safetensors", st(hdr(a=("F32", [2], [0, 8]), b=("F32", [2], [4, 12])), 12))
write("safetensors", "offsets_out_of_range.safetensors", st(hdr(a=("F32", [4], [0, 16])), 8))
write("safetensors", "dtype_size_mismatch.safetensors", st(hdr(a=("F64", [2], [0, 8])), 8))
write("safetensors", "shape_overflow.safetensors", st(hdr(a=("F32", [1 << 40, 1 << 40], [0, 8])), 8))
write("safetensors", "empty_with_huge_dims.safetensors", st(hdr(a=("F32", [0, 1 << 62, 1 << 62], [0, 0])), 0))
write("safetensors", "nested_deep.safetensors", st('{"a":{"dtype":' + "[" * 200 + "]" * 200 + "}}", 0))
write("safetensors", "nan_in_header.safetensors", st('{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}', 4))
write("safetensors", "metadata.safetensors", st('{"__metadata__":{"format":"pt"},' + hdr(a=("U8", [3], [0, 3]))[1:], 3))

# ---- onnx ------------------------------------------------------------------------------------

def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def key(field, wire):
    return varint(field << 3 | wire)


def num(field, v):
    return key(field, 0) + varint(v & ((1 << 64) - 1))


def msg(field, body):
    return key(field, 2) + varint(len(body)) + body


def onnx_tensor(dims, dtype, raw):
    return b"".join(num(1, d) for d in dims) + num(2, dtype) + msg(8, b"w") + (msg(9, raw) if raw is not None else b"")


def model(inits=()):
    g = msg(1, msg(1, b"x") + msg(2, b"y") + msg(4, b"Relu")) + b"".join(msg(5, t) for t in inits) + msg(12, msg(1, b"y"))
    return num(1, 8) + msg(8, num(2, 13)) + msg(7, g)


write("onnx", "ok_relu_with_weight.onnx", model([onnx_tensor([2, 3], 1, b"\0" * 24)]))
write("onnx", "weight_claims_1e18.onnx", model([onnx_tensor([10**9, 10**9], 1, b"abcd")]))
write("onnx", "weight_without_data.onnx", model([onnx_tensor([1 << 20, 1 << 20], 1, None)]))
write("onnx", "negative_dim.onnx", model([onnx_tensor([-4], 1, b"abcd")]))
write("onnx", "graph_length_lies.onnx", num(1, 8) + key(7, 2) + varint(1 << 30) + b"short")
write("onnx", "overlong_varint.onnx", num(1, 8) + key(3, 0) + b"\xff" * 11)
write("onnx", "external_data.onnx", model([onnx_tensor([1], 1, b"abcd") + num(14, 1)]))
