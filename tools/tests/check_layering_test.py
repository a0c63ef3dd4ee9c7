#!/usr/bin/env python3
"""Tests of tools/check_layering.py: a copy of the real tree (its C++ files and
docs/architecture.md) with one forbidden include planted must fail, naming the planted file and
line; the same copy without it must not name it; the rules' grammar on a small tree of its own.

  tools/tests/check_layering_test.py [--root DIR] [unittest options]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(os.path.dirname(HERE), "check_layering.py")
sys.path.insert(0, os.path.dirname(HERE))
import check_layering  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))


def run_checker(root, *extra):
    proc = subprocess.run([sys.executable, CHECKER, "--root", root, *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stdout + proc.stderr


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class PlantedIncludes(unittest.TestCase):
    """Copies of the real tree, each with one include that breaks a rule of docs/architecture.md."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="camgraph-layering-")
        cls.tree = os.path.join(cls.tmp, "tree")
        for rel in check_layering.tree_files(ROOT) + ["docs/architecture.md"]:
            os.makedirs(os.path.dirname(os.path.join(cls.tree, rel)), exist_ok=True)
            shutil.copyfile(os.path.join(ROOT, rel), os.path.join(cls.tree, rel))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def plant(self, rel, include):
        """Plants `rel` with the include on line 3; returns the checker's exit code and output."""
        write(self.tree, rel, "// planted by check_layering_test.py\n#include <string>\n#include " + include + "\n")
        try:
            return run_checker(self.tree)
        finally:
            os.remove(os.path.join(self.tree, rel))

    def assertRefused(self, rel, include, arrow):
        code, out = self.plant(rel, include)
        self.assertEqual(code, 1, out)
        self.assertIn(f"{rel}:3: forbidden include {include}", out)
        self.assertIn(arrow, out)

    def test_engine_including_a_family_fails(self):
        self.assertRefused("graph-engine/src/planted.cpp", '"splat/raster/render.h"', "engine -> splat")

    def test_ui_including_a_family_fails(self):
        self.assertRefused("ui/planted_view.cpp", '"splat/raster/render.h"', "ui -> splat")

    def test_batch_including_the_dataset_family_fails(self):
        self.assertRefused("app/batch/src/planted.cpp", '"dataset/dataset.h"', "app/batch -> dataset")

    def test_an_arrow_backwards_between_families_fails(self):
        self.assertRefused("nodes/splat/planted.cpp", '"depth/lift.h"', "splat -> depth")

    def test_a_family_reaching_the_registry_fails(self):
        self.assertRefused("nodes/camera/planted.cpp", '"camgraph/builtin_nodes.h"', "camera -> registry")

    def test_the_copy_without_a_plant_names_no_planted_file(self):
        code, out = run_checker(self.tree)
        self.assertIn(code, (0, 1), out)
        self.assertNotIn("planted", out)

    def test_allowed_arrows_pass(self):
        code, out = self.plant("nodes/depth/planted.cpp", '"sd/pipeline.h"')
        self.assertNotIn("planted", out)
        code, out = self.plant("nodes/splat/tests/planted_test.cpp", '"test_support.h"')
        self.assertNotIn("planted", out)


class Grammar(unittest.TestCase):
    """The rules block on a small tree of its own."""

    RULES = """# rules
```layering
part engine = engine
part * = families
part ui = ui
part helpers = helpers
include-roots engine/include families
tests-may-include helpers
engine ->
a -> engine
b -> engine a
ui -> engine
```
"""

    def setUp(self):
        self.tree = tempfile.mkdtemp(prefix="camgraph-layering-grammar-")
        write(self.tree, "docs/architecture.md", self.RULES)
        write(self.tree, "engine/include/core.h", "#pragma once\n")
        write(self.tree, "families/a/a.h", '#include "core.h"\n')  # resolved by name: engine/include/core.h
        write(self.tree, "families/b/b.cpp", '#include "a/a.h"\n#include <vector>\n')
        write(self.tree, "families/b/tests/b_test.cpp", '#include "helpers.h"\n#include "b.h"\n')
        write(self.tree, "families/b/b.h", "#pragma once\n")
        write(self.tree, "helpers/helpers.h", "#pragma once\n")
        write(self.tree, "ui/view.cpp", '#include "core.h"\n')

    def tearDown(self):
        shutil.rmtree(self.tree, ignore_errors=True)

    def test_clean_tree_passes_and_lists_its_arrows(self):
        code, out = run_checker(self.tree, "--arrows")
        self.assertEqual(code, 0, out)
        self.assertIn("b -> a helpers", out)
        self.assertIn("a -> engine", out)  # "core.h" found by its name under an include root

    def test_every_forbidden_include_is_listed_with_file_and_line(self):
        write(self.tree, "families/a/a.cpp", '#include "a.h"\n\n#include "b/b.h"\n')
        write(self.tree, "ui/more.cpp", '#include <map>\n#include "a/a.h"\n')
        write(self.tree, "families/a/uses_helpers.cpp", '#include "helpers.h"\n')  # not under tests/
        code, out = run_checker(self.tree)
        self.assertEqual(code, 1, out)
        self.assertIn('families/a/a.cpp:3: forbidden include "b/b.h": a -> b', out)
        self.assertIn('ui/more.cpp:2: forbidden include "a/a.h": ui -> a', out)
        self.assertIn('families/a/uses_helpers.cpp:1: forbidden include "helpers.h": a -> helpers', out)
        self.assertIn("3 forbidden include(s)", out)

    def test_rules_naming_an_unknown_part_are_refused(self):
        write(self.tree, "docs/architecture.md", self.RULES.replace("b -> engine a", "b -> engine c"))
        code, out = run_checker(self.tree)
        self.assertEqual(code, 2, out)
        self.assertIn("'c'", out)

    def test_a_missing_block_is_refused(self):
        write(self.tree, "docs/architecture.md", "# no rules here\n")
        code, out = run_checker(self.tree)
        self.assertEqual(code, 2, out)
        self.assertIn("no ```layering block", out)


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--root":
        ROOT = os.path.abspath(args[1])
        args = args[2:]
    unittest.main(argv=[sys.argv[0]] + args, verbosity=2)
