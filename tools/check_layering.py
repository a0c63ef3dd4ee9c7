#!/usr/bin/env python3
"""The layering check: every #include of every C++ source and header against the allowed arrows.

The parts of the tree and the arrows between them are written in one place, the ```layering block
of docs/architecture.md (its grammar is described there). This script maps every file to its part,
resolves each #include to the file it names (relative to the including file, then the project's
include roots, then by its name anywhere in the tree), and fails listing every include that crosses
from one part to another without an arrow, as FILE:LINE.

  tools/check_layering.py [--root DIR] [--rules FILE] [--arrows]

Exit codes: 0 clean, 1 forbidden includes (listed), 2 unusable rules or arguments.
--arrows prints the arrows the tree uses (part -> parts), to compare with the rules.
Python 3 standard library only.
"""
import argparse
import os
import re
import sys

SOURCE_EXTENSIONS = {".h", ".hpp", ".hh", ".cpp", ".cc", ".cxx", ".cu", ".cuh", ".in", ".inl"}
SKIPPED_DIRS = {".git", "out", "__pycache__"}
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


class RulesError(Exception):
    pass


class Rules:
    """The ```layering block: parts (folders), arrows, and what test folders may add."""

    def __init__(self):
        self.folders = []          # (folder, part name or "*" for one part per subfolder)
        self.arrows = {}           # part -> set of parts it may include
        self.include_roots = []    # folders searched for "dir/file.h" includes
        self.test_extras = set()   # parts any file under a tests/ folder may include

    def part_of(self, rel):
        """The part of a path relative to the root (longest folder match), or None."""
        return self.locate(rel)[0]

    def locate(self, rel):
        """(part, its folder) for a path relative to the root; (None, None) outside every part."""
        best, best_rank = (None, None), (-1, 0)
        for folder, name in self.folders:
            if name == "*":  # one part per subfolder; a folder named explicitly wins a tie
                prefix = folder + "/"
                if rel.startswith(prefix) and "/" in rel[len(prefix):]:
                    family = rel[len(prefix):].split("/", 1)[0]
                    rank = (len(prefix) + len(family), 0)
                    if rank > best_rank:
                        best, best_rank = (family, prefix + family), rank
            elif rel == folder or rel.startswith(folder + "/"):
                rank = (len(folder), 1)
                if rank > best_rank:
                    best, best_rank = (name, folder), rank
        return best

    def known_parts(self, tree_files):
        names = {name for _, name in self.folders if name != "*"}
        for rel in tree_files:
            part = self.part_of(rel)
            if part:
                names.add(part)
        return names


def parse_rules(text, source):
    """Reads the first ```layering fenced block of a Markdown file."""
    match = re.search(r"^```layering[ \t]*\n(.*?)^```", text, re.M | re.S)
    if not match:
        raise RulesError(f"{source}: no ```layering block")
    first_line = text[: match.start(1)].count("\n") + 1
    rules = Rules()
    for offset, raw in enumerate(match.group(1).split("\n")):
        line = raw.split("#", 1)[0].strip()
        where = f"{source}:{first_line + offset}"
        if not line:
            continue
        words = line.split()
        if words[0] == "part":
            # part NAME = FOLDER [FOLDER...]      part * = nodes   (one part per subfolder)
            if len(words) < 4 or words[2] != "=":
                raise RulesError(f"{where}: expected 'part NAME = FOLDER...', got '{line}'")
            for folder in words[3:]:
                rules.folders.append((folder.rstrip("/"), words[1]))
        elif words[0] == "include-roots":
            rules.include_roots.extend(w.rstrip("/") for w in words[1:])
        elif words[0] == "tests-may-include":
            rules.test_extras.update(words[1:])
        elif len(words) >= 2 and words[1] == "->":
            rules.arrows.setdefault(words[0], set()).update(w.rstrip(",") for w in words[2:])
        else:
            raise RulesError(f"{where}: cannot read '{line}' (expected 'part', 'include-roots', "
                             "'tests-may-include' or 'NAME -> NAME...')")
    if not rules.folders:
        raise RulesError(f"{source}: the layering block names no part")
    return rules


def tree_files(root):
    """Every C++ source and header under root (relative paths, '/' separated, sorted)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames
                             if d not in SKIPPED_DIRS and not d.startswith(".") and
                             not (rel_dir == "." and d.startswith("build")))
        for name in filenames:
            if os.path.splitext(name)[1] in SOURCE_EXTENSIONS:
                rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
                out.append(rel)
    return sorted(out)


class Resolver:
    """Finds the tree file an include names, the way the compiler's include path would."""

    def __init__(self, files, include_roots):
        self.files = set(files)
        self.roots = include_roots
        self.by_suffix = {}
        for f in files:
            parts = f.split("/")
            for i in range(len(parts)):
                self.by_suffix.setdefault("/".join(parts[i:]), []).append(f)

    def resolve(self, including, name, quoted):
        """The tree files the include may mean ([] for a system or generated header)."""
        name = name.strip()
        if quoted:
            local = os.path.normpath(os.path.join(os.path.dirname(including), name)).replace(os.sep, "/")
            if local in self.files:
                return [local]
        for root in self.roots:
            candidate = os.path.normpath(os.path.join(root, name)).replace(os.sep, "/")
            if candidate in self.files:
                return [candidate]
        # A folder's own include directory (e.g. a family's tests adding their folder): the name
        # anywhere in the tree.
        return self.by_suffix.get(os.path.normpath(name).replace(os.sep, "/"), [])


def is_test_file(rel, part_folder):
    """True for a file under a tests/ folder inside its part (not the part's own folder)."""
    inside = rel[len(part_folder) + 1:] if part_folder else rel
    return "tests" in inside.split("/")[:-1]


def check(root, rules):
    """(violations, arrows used): violations are (file, line, include, from part, to part)."""
    files = tree_files(root)
    parts = rules.known_parts(files)
    for name in list(rules.arrows) + [t for ts in rules.arrows.values() for t in ts] + list(rules.test_extras):
        if name not in parts:
            raise RulesError(f"the rules name a part '{name}' that no folder of the tree makes")
    resolver = Resolver(files, rules.include_roots)
    violations, used = [], {}
    for rel in files:
        src, folder = rules.locate(rel)
        if src is None:
            continue
        allowed = rules.arrows.get(src, set()) | {src}
        if is_test_file(rel, folder):
            allowed = allowed | rules.test_extras
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                targets = resolver.resolve(rel, m.group(2), m.group(1) == '"')
                target_parts = {rules.part_of(t) for t in targets} - {None}
                if not target_parts:
                    continue
                # A name several files share: the ones within reach are the ones meant.
                reached = target_parts & allowed
                used.setdefault(src, set()).update((reached or target_parts) - {src})
                if not reached:
                    shown = m.group(1) + m.group(2) + ('"' if m.group(1) == '"' else ">")
                    violations.append((rel, number, shown, src, ", ".join(sorted(target_parts))))
    return violations, used


def main(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.dirname(here), help="the source tree (default: this checkout)")
    ap.add_argument("--rules", help="the Markdown file with the ```layering block "
                                    "(default: ROOT/docs/architecture.md)")
    ap.add_argument("--arrows", action="store_true", help="print the arrows the tree uses")
    args = ap.parse_args(argv)
    rules_path = args.rules or os.path.join(args.root, "docs", "architecture.md")
    try:
        with open(rules_path, encoding="utf-8") as f:
            rules = parse_rules(f.read(), rules_path)
        violations, used = check(args.root, rules)
    except (OSError, RulesError) as e:
        print(f"check_layering: {e}", file=sys.stderr)
        return 2
    if args.arrows:
        for src in sorted(s for s in used if used[s]):
            print(f"{src} -> {' '.join(sorted(used[src]))}")
    for rel, number, shown, src, dst in violations:
        print(f"{rel}:{number}: forbidden include {shown}: {src} -> {dst} is not an allowed arrow "
              f"(docs/architecture.md, Layering)")
    if violations:
        print(f"check_layering: {len(violations)} forbidden include(s)", file=sys.stderr)
        return 1
    print(f"check_layering: ok ({rules_path})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
