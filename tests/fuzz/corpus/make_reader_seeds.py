#!/usr/bin/env python3
"""Writes the seeds of the scene/data reader harnesses (ply, colmap_bin, colmap_text, transforms,
cube, cgraph, sweep, manifest; tests/fuzz/README.md): a few small valid files in each format and
edge cases (lying headers, huge counts, truncations, NaN, deep nesting, wrong types). Real files are
copied from examples-graphs/ and, when present, the shared LUT fixtures. Run from anywhere:
python3 tests/fuzz/corpus/make_reader_seeds.py (the files are committed; rerun after changing it)."""
import json
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SHARED = os.environ.get("CAMGRAPH_SHARED", os.path.join(ROOT, "..", "shared"))


def write(harness, name, data):
    os.makedirs(os.path.join(HERE, harness), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(HERE, harness, name), "wb") as f:
        f.write(data)


# ---- PLY -------------------------------------------------------------------------------------

GAUSS = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
TAIL = ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]


def gauss_props(degree):
    rest = 3 * ((degree + 1) ** 2 - 1)
    return GAUSS + ["f_rest_%d" % i for i in range(rest)] + TAIL


def gauss_row(i, props):
    row = []
    for p in props:
        if p == "rot_0":
            row.append(1.0)
        elif p.startswith("rot_"):
            row.append(0.0)
        elif p.startswith("scale_"):
            row.append(-3.0 - 0.1 * i)
        else:
            row.append(0.25 * i - 0.5)
    return row


def ply(fmt, props, rows, count=None, typ="float", pre=""):
    head = "ply\nformat %s 1.0\ncomment seed\n%selement vertex %d\n" % (fmt, pre, len(rows) if count is None else count)
    head += "".join("property %s %s\n" % (typ, p) for p in props) + "end_header\n"
    if fmt == "ascii":
        return (head + "".join(" ".join("%g" % v for v in r) + "\n" for r in rows)).encode()
    code = {"float": "f", "double": "d", "uchar": "B", "int": "i"}[typ]
    end = "<" if fmt == "binary_little_endian" else ">"
    return head.encode() + b"".join(struct.pack(end + code * len(r), *r) for r in rows)


def ply_seeds():
    p1 = gauss_props(1)
    rows = [gauss_row(i, p1) for i in range(3)]
    write("ply", "gauss_deg1_le.ply", ply("binary_little_endian", p1, rows))
    write("ply", "gauss_deg1_be.ply", ply("binary_big_endian", p1, rows))
    write("ply", "gauss_deg1_ascii.ply", ply("ascii", p1, rows))
    p0 = gauss_props(0)
    write("ply", "gauss_deg0_double.ply", ply("binary_little_endian", p0, [gauss_row(i, p0) for i in range(2)],
                                              typ="double"))
    xyz = [[0.5, 1, 2], [3, 4, 5.5]]
    write("ply", "points_ascii.ply", ply("ascii", ["x", "y", "z"], xyz))
    colour = ("ply\nformat ascii 1.0\nelement vertex 2\nproperty double x\nproperty double y\nproperty double z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nelement face 1\n"
              "property list uchar int vertex_indices\nend_header\n0 0 0 255 0 0\n1 1 1 0 255 9\n3 0 1 1\n")
    write("ply", "points_colour_faces.ply", colour)
    faces_first = (b"ply\nformat binary_little_endian 1.0\nelement face 1\nproperty list uchar int idx\n"
                   b"element vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
                   + struct.pack("<Biii", 3, 0, 1, 2) + struct.pack("<fff", 1, 2, 3))
    write("ply", "faces_before_vertices.ply", faces_first)
    # Edge cases: lying counts, NaN, zero quaternion, empty element, truncation.
    write("ply", "ascii_declares_billions.ply", ply("ascii", p0, [gauss_row(0, p0)], count=2000000000))
    write("ply", "double_declares_billions.ply", ply("binary_little_endian", ["x", "y", "z"], xyz, count=1500000000,
                                                     typ="double"))
    write("ply", "list_count_huge.ply", faces_first.replace(struct.pack("<Biii", 3, 0, 1, 2),
                                                           struct.pack("<Biii", 255, 0, 1, 2)))
    write("ply", "nan_x.ply", ply("ascii", ["x", "y", "z"], [[0, 0, 0]]).replace(b"\n0 0 0", b"\nnan 0 0"))
    zero_q = [gauss_row(0, p0)]
    zero_q[0][p0.index("rot_0")] = 0.0
    write("ply", "zero_quaternion.ply", ply("ascii", p0, zero_q))
    write("ply", "empty_element_huge.ply",
          b"ply\nformat ascii 1.0\nelement nothing 9000000000000000000\nelement vertex 1\nproperty float x\n"
          b"property float y\nproperty float z\nend_header\n1 2 3\n")
    write("ply", "truncated.ply", ply("binary_little_endian", p1, rows)[:-37])
    write("ply", "no_end_header.ply", b"ply\nformat ascii 1.0\nelement vertex 1\n")


# ---- COLMAP ------------------------------------------------------------------------------------

def colmap_seeds():
    cams = struct.pack("<Q", 2)
    cams += struct.pack("<iiQQ", 1, 1, 64, 48) + struct.pack("<4d", 50, 51, 32, 24)
    cams += struct.pack("<iiQQ", 2, 4, 64, 48) + struct.pack("<8d", 50, 51, 32, 24, 0.01, -0.002, 0.0001, 0)
    write("colmap_bin", "cameras.bin", cams)
    ims = struct.pack("<Q", 2)
    for i in range(2):
        ims += struct.pack("<i4d3di", i + 1, 1, 0, 0, 0, 0.5 * i, 0, 1, 1) + b"im%d.png\0" % i
        ims += struct.pack("<Q", 1) + struct.pack("<ddq", 3.5, 4.5, 10 + i)
    write("colmap_bin", "images.bin", ims)
    pts = struct.pack("<Q", 2)
    for i in range(2):
        pts += struct.pack("<Q3d3Bd", 10 + i, i, 1, 2, 10, 20, 30, 0.5) + struct.pack("<Q", 2)
        pts += struct.pack("<ii", 1, 0) + struct.pack("<ii", 2, 0)
    write("colmap_bin", "points3D.bin", pts)
    write("colmap_bin", "count_max.bin", struct.pack("<Q", 2 ** 64 - 1) + cams[8:])
    write("colmap_bin", "points2d_huge.bin", ims.replace(struct.pack("<Q", 1) + struct.pack("<ddq", 3.5, 4.5, 10),
                                                         struct.pack("<Q", 2 ** 62) + struct.pack("<ddq", 3.5, 4.5, 10), 1))
    write("colmap_bin", "nan_quaternion.bin", struct.pack("<Q", 1) + struct.pack("<i4d3di", 1, float("nan"), 0, 0, 0,
                                                                                 0, 0, 1, 1) + b"a\0" + struct.pack("<Q", 0))
    write("colmap_bin", "name_unterminated.bin", ims[:60 + 8 + 6])

    write("colmap_text", "cameras.txt", "# Camera list\n1 PINHOLE 64 48 50 51 32 24\n"
                                        "2 OPENCV 64 48 50 51 32 24 0.01 -0.002 0.0001 0\n3 SIMPLE_RADIAL 8 8 5 4 4 0.1\n")
    write("colmap_text", "images.txt", "# Image list\n1 1 0 0 0 0 0 1 1 im0.png\n3.5 4.5 10 1 1 -1\n"
                                       "2 0.7071 0 0.7071 0 0.5 0 1 2 sub dir/im1.png\n\n")
    write("colmap_text", "points3D.txt", "# 3D points\n10 0 1 2 10 20 30 0.5 1 0 2 0\n11 1 1 2 255 0 0 0.25\n")
    write("colmap_text", "zero_quaternion.txt", "1 0 0 0 0 0 0 1 1 a.png\n\n")
    write("colmap_text", "bad_values.txt", "1 PINHOLE 64 48 50 -1 32 24\n1 0 0 0 1e999 0 0 1 1 a.png\n\n"
                                           "10 nan 1 2 10 20 30 0.5\n")


# ---- transforms.json ----------------------------------------------------------------------------

def pose(tx):
    return [[1, 0, 0, tx], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]


def transforms_seeds():
    write("transforms", "nerf_synthetic.json", json.dumps({
        "camera_angle_x": 0.69, "w": 40, "h": 30,
        "frames": [{"file_path": "./train/r_0", "transform_matrix": pose(0)},
                   {"file_path": "train/r_1.png", "transform_matrix": pose(1)}]}, indent=1))
    write("transforms", "nerfstudio.json", json.dumps({
        "fl_x": 500, "fl_y": 501, "cx": 320, "cy": 240, "w": 640, "h": 480, "camera_model": "OPENCV",
        "k1": 0.01, "k2": -0.002, "p1": 0, "p2": 0, "ply_file_path": "sparse_pc.ply",
        "frames": [{"file_path": "images/frame_00001.png", "transform_matrix": pose(0)[:3],
                    "fl_x": 400, "camera_model": "OPENCV_FISHEYE", "k4": 0.001}]}))
    write("transforms", "deep.json", '{"frames": [], "x": ' + "[" * 200)
    write("transforms", "wrong_types.json", json.dumps({"w": "wide", "h": -3, "fl_x": [1],
                                                        "frames": [7, {"file_path": 5}, {"file_path": "a",
                                                                   "transform_matrix": "eye"}]}))
    write("transforms", "huge_numbers.json", '{"w": 1e308, "h": 1e-308, "fl_x": 1e999, "frames": []}')


# ---- .cube ---------------------------------------------------------------------------------------

def cube_seeds():
    luts = os.path.join(SHARED, "data", "luts", "colour_science")
    for flavour in ("iridas_cube", "resolve_cube"):
        for name in ("Demo.cube", "Three_Dimensional_Table_With_Shaper.cube", "RGB_1_0.5_0.25.cube"):
            src = os.path.join(luts, flavour, name)
            if os.path.isfile(src) and os.path.getsize(src) < 8192:
                shutil.copy(src, os.path.join(HERE, "cube", flavour.split("_")[0] + "_" + name))
    ident = "LUT_3D_SIZE 2\n0 0 0\n1 0 0\n0 1 0\n1 1 0\n0 0 1\n1 0 1\n0 1 1\n1 1 1\n"
    write("cube", "identity2.cube", 'TITLE "identity"\n# comment\n' + ident)
    write("cube", "shaper.cube", "LUT_1D_SIZE 2\nLUT_3D_SIZE 2\nLUT_1D_INPUT_RANGE 0 2\n0 0 0\n1 1 1\n" + ident[14:])
    write("cube", "domain.cube", "DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1 2 3\nLUT_1D_SIZE 2\n0 0 0\n1 1 1\n")
    write("cube", "nan_value.cube", ident.replace("1 1 1\n", "1 nan 1\n"))
    write("cube", "size_lies.cube", "LUT_3D_SIZE 256\n0 0 0\n1 1 1\n")
    write("cube", "extra_rows.cube", ident + "0.5 0.5 0.5\n" * 3)
    write("cube", "size_out_of_range.cube", "LUT_3D_SIZE 99999999999999999999\n")


# ---- .cgraph, sweeps, manifests ------------------------------------------------------------------

def json_seeds():
    for name in ("checker-resize.cgraph", "demo.cgraph", "motion-keyframes.cgraph"):
        shutil.copy(os.path.join(ROOT, "examples-graphs", name), os.path.join(HERE, "cgraph", name))
    write("cgraph", "deep.cgraph", '{"format": "camgraph", "version": 1, "graph": {"nodes": [], "links": []}, '
                                   '"ui": ' + "[" * 200)
    write("cgraph", "wrong_types.cgraph", json.dumps({"format": "camgraph", "version": 4294967297,
                                                      "graph": {"nodes": [1, {"id": 5}], "links": {}}}))
    write("cgraph", "duplicate_links.cgraph", json.dumps({"format": "camgraph", "version": 1, "graph": {
        "nodes": [{"id": "a", "type": "x", "version": 99999999999}],
        "links": [{"from": "a.b", "to": "c.d"}, {"from": "a.b", "to": "c.d"}, {"from": ".", "to": "a."}]}}))

    for name in os.listdir(os.path.join(ROOT, "examples-graphs", "sweeps")):
        shutil.copy(os.path.join(ROOT, "examples-graphs", "sweeps", name), os.path.join(HERE, "sweep", name))
    write("sweep", "ranges.json", json.dumps({"graph": "g.cgraph", "vary": {"zip": [
        {"param": "a.x", "range": {"from": 0, "to": 1, "step": 0.25}},
        {"param": "a.y", "range": {"from": 2, "to": 3, "count": 5}}]}}))
    write("sweep", "random.json", json.dumps({"graph": "g.cgraph", "vary": [
        {"param": "a.x", "random": {"seed": 3, "count": 4, "uniform": [0, 1], "decimals": 2}},
        {"param": "a.n", "random": {"seed": 4, "count": 3, "int": [-5, 5]}},
        {"values": [{"a.m": "p", "b.k": 1}, {"a.m": "q", "b.k": 2}]}]}))
    write("sweep", "overflow.json", json.dumps({"vary": [
        {"param": "a.x", "range": {"from": -1e308, "to": 1e308, "count": 3}},
        {"param": "a.n", "random": {"seed": 1, "count": 2, "int": [-9223372036854775808, 9223372036854775807]}}]}))
    write("sweep", "deep.json", '{"vary": ' + '{"product": [' * 100)
    write("sweep", "explosive.json", json.dumps({"vary": [
        {"param": "a.x", "range": {"from": 1, "to": 2000, "step": 1}},
        {"param": "b.y", "range": {"from": 1, "to": 2000, "step": 1}}]}))

    record = {"state": "done", "attempts": 1, "seconds": 2.5, "updated": 1.7e9, "worker": "host:1/0",
              "log": "logs/a.log", "computed_nodes": 3, "cached_nodes": 1}
    write("manifest", "manifest.json", json.dumps({"format": "camgraph-batch-manifest", "version": 1,
                                                   "sweep": "demo", "graph_hash": "ab" * 16, "items": {
                                                       "0123456789abcdef": record,
                                                       "fedcba9876543210": {"state": "failed", "attempts": 3,
                                                                            "node": "train", "param": "steps",
                                                                            "error": "boom"}}}, indent=1))
    write("manifest", "bad_counts.json", json.dumps({"items": {"a": {"attempts": 1e300}, "b": {"attempts": -1},
                                                               "c": 5, "d": {"state": 7}}}))
    write("manifest", "deep.json", '{"items": {"a": ' + "[" * 200)


if __name__ == "__main__":
    for h in ("ply", "colmap_bin", "colmap_text", "transforms", "cube", "cgraph", "sweep", "manifest"):
        os.makedirs(os.path.join(HERE, h), exist_ok=True)
    ply_seeds()
    colmap_seeds()
    transforms_seeds()
    cube_seeds()
    json_seeds()
