#!/usr/bin/env python3
"""Prints which of the given C++ sources never include a torch header, directly or through the
project's own headers. Those are compiled without the torch precompiled header: GCC loads the whole
290 MB image (3.4 s) even for a file that uses none of it (docs/build.md).

usage: torch_free_sources.py REPO_ROOT SOURCES_LIST_FILE  ->  one torch-free source per line

Includes are resolved the way the compiler would find a project header: next to the including file,
else any project header whose path ends with the included name (an ambiguous name counts as torch
when any candidate reaches torch, so a doubt keeps the precompiled header). System headers other
than torch's (<torch/...>, <ATen/...>, <c10/...>) are not followed.
"""
import os
import re
import sys

TORCH_PREFIXES = ("torch/", "ATen/", "c10/")
HEADER_SUFFIXES = (".h", ".hpp", ".hxx", ".cuh", ".inl")
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^">]+)[">]', re.M)


def project_headers(root):
    """basename -> [paths] of every header under root, outside build and VCS folders."""
    by_name = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build")) and
                   not os.path.exists(os.path.join(folder, d, "CMakeCache.txt"))]
        for f in files:
            if f.endswith(HEADER_SUFFIXES):
                by_name.setdefault(f, []).append(os.path.join(folder, f))
    return by_name


class Scanner:
    def __init__(self, root):
        self.headers = project_headers(root)
        self.memo = {}

    def candidates(self, name, including_dir):
        local = os.path.normpath(os.path.join(including_dir, name))
        if os.path.isfile(local):
            return [local]
        suffix = "/" + name.lstrip("./")
        return [p for p in self.headers.get(os.path.basename(name), []) if p.endswith(suffix)]

    def reaches_torch(self, path, active=frozenset()):
        if path in self.memo:
            return self.memo[path]
        if path in active:  # an include cycle: guarded headers add nothing new
            return False
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError:
            return True  # unreadable (generated later?): keep the precompiled header
        found = False
        for name in INCLUDE.findall(text):
            if name.startswith(TORCH_PREFIXES):
                found = True
                break
            if any(self.reaches_torch(c, active | {path}) for c in self.candidates(name, os.path.dirname(path))):
                found = True
                break
        self.memo[path] = found
        return found


def main():
    root, list_file = sys.argv[1], sys.argv[2]
    scanner = Scanner(os.path.abspath(root))
    with open(list_file) as f:
        sources = [line.strip() for line in f if line.strip()]
    for source in sources:
        if not scanner.reaches_torch(os.path.abspath(source)):
            print(source)


if __name__ == "__main__":
    main()
