"""The wheel and the sdist carry libbgcopy.so, and the installed package loads it from its own
directory (no BGCOPY_LIBRARY needed)."""
from __future__ import annotations

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import bgcopy

from conftest import REPO

PROJECT = REPO / "bindings" / "python"
LIB = pathlib.Path(bgcopy.library_path()).name


def _copy_project(dest: pathlib.Path) -> pathlib.Path:
    """A copy of bindings/python without build litter (builds happen in the copy)."""
    proj = dest / "bgcopy-python"
    shutil.copytree(PROJECT, proj, ignore=shutil.ignore_patterns(
        "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", "libbgcopy.*"))
    return proj


def _build_env() -> dict:
    env = dict(os.environ)
    env["BGCOPY_LIBRARY"] = bgcopy.library_path()  # no cargo build inside the test
    env.pop("PYTHONPATH", None)
    return env


def _have_pip() -> bool:
    return importlib.util.find_spec("pip") is not None


def _no_isolation_possible() -> bool:
    """True when this Python can build the wheel without downloading build requirements:
    setuptools with bdist_wheel (its own since 70.1, else the wheel package). Probed in a child
    process: importing setuptools here would disturb distutils in the test process."""
    probe = ("import setuptools\n"
             "try:\n import setuptools.command.bdist_wheel\n"
             "except ImportError:\n import wheel.bdist_wheel\n")
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


@pytest.mark.skipif(not _have_pip(), reason="pip is not installed for this Python")
def test_wheel_carries_the_library_and_loads_it(tmp_path):
    proj = _copy_project(tmp_path)
    wheel_dir = tmp_path / "wheels"
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(proj)]
    if _no_isolation_possible():
        cmd.insert(4, "--no-build-isolation")
    res = subprocess.run(cmd, env=_build_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    wheels = list(wheel_dir.glob("bgcopy-*.whl"))
    assert len(wheels) == 1, wheels
    assert "-py3-none-" in wheels[0].name and not wheels[0].name.endswith("-any.whl")
    with zipfile.ZipFile(wheels[0]) as z:
        names = z.namelist()
        assert f"bgcopy/{LIB}" in names
        assert "bgcopy/py.typed" in names
        z.extractall(tmp_path / "site")
    env = dict(os.environ)
    env.pop("BGCOPY_LIBRARY", None)
    env["PYTHONPATH"] = str(tmp_path / "site")
    probe = ("import bgcopy; print(bgcopy.library_path()); print(bgcopy.version());"
             "m = bgcopy.Manager(':memory:'); j = m.create_job('w'); print(j.state.name); m.close()")
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split()
    assert lines[0] == str(tmp_path / "site" / "bgcopy" / LIB)
    assert lines[1] == bgcopy.version() and lines[2] == "SUSPENDED"


@pytest.mark.skipif(subprocess.run([sys.executable, "-c", "import setuptools"]).returncode != 0,
                    reason="setuptools is not installed for this Python")
def test_sdist_carries_the_library(tmp_path):
    proj = _copy_project(tmp_path)
    res = subprocess.run([sys.executable, "setup.py", "-q", "sdist", "-d", str(tmp_path / "dist")],
                         cwd=proj, env=_build_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    (sdist,) = list((tmp_path / "dist").glob("bgcopy-*.tar.gz"))
    with tarfile.open(sdist) as t:
        names = t.getnames()
    root = sdist.name[: -len(".tar.gz")]
    for member in (f"{root}/bgcopy/{LIB}", f"{root}/bgcopy/_lib.py", f"{root}/setup.py",
                   f"{root}/pyproject.toml", f"{root}/tests/conftest.py"):
        assert member in names, member
