"""`cmake --install` puts a working package under the prefix: the module, the
pure-Python files and the type stubs, importable from there alone."""

import os
import subprocess
import sys

import pytest


def test_installed_package_imports_from_the_prefix(tmp_path):
    build = os.environ.get("LIVECONF_BUILD_DIR")
    if not build:
        pytest.fail("LIVECONF_BUILD_DIR must name the build tree (ctest sets it)")
    prefix = tmp_path / "prefix"
    subprocess.run(["cmake", "--install", build, "--prefix", str(prefix)], check=True,
                   capture_output=True, timeout=300)
    site = prefix / "lib" / "python3" / "dist-packages"
    package = site / "liveconf"
    for name in ["__init__.py", "_core.pyi", "py.typed", "events.py"]:
        assert (package / name).exists(), name
    assert any(p.name.startswith("_core.") and p.suffix == ".so" for p in package.iterdir())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    code = ("import liveconf, sys; c = liveconf.BaseConfig; "
            "print(liveconf.__file__); print(liveconf.__version__)")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.split()
    assert out[0].startswith(str(site)), out
    assert out[1].count(".") == 2
