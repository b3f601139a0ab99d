"""Every ```python block of README.md and docs/python.md runs (each in a fresh
interpreter, in a temporary directory), and the type stubs name exactly what
the module has, so neither can drift from the code."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from liveconf import _core

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def blocks():
    for doc in ["README.md", "docs/python.md"]:
        text = (ROOT / doc).read_text(encoding="utf-8")
        for i, m in enumerate(BLOCK.finditer(text)):
            line = text[: m.start()].count("\n") + 1
            yield pytest.param(m.group(1), id=f"{doc}:{line}")


@pytest.mark.parametrize("code", list(blocks()))
def test_python_blocks_run(code, tmp_path):
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env=dict(os.environ))
    assert result.returncode == 0, result.stderr


def test_the_readme_and_guide_have_python_blocks():
    assert len(list(blocks())) >= 3


def _stub_names():
    tree = ast.parse((ROOT / "src/python/liveconf/_core.pyi").read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {n.name for n in node.body
                                if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                                for n in [n] if not isinstance(n, ast.AnnAssign)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign):
            names[node.target.id] = None
    return names


def test_stubs_match_the_module():
    stubs = _stub_names()
    public = {n for n in dir(_core) if not n.startswith("__")} | {"__version__"}
    assert set(stubs) == public, (set(stubs) ^ public)
    for name, members in stubs.items():
        if members is None or name == "Error":
            continue
        cls = getattr(_core, name)
        actual = {n for n in dir(cls) if not n.startswith("_")}
        assert members - {"__init__"} == actual, (name, members ^ actual)
