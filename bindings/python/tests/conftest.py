"""Fixtures: the loopback test server, managers, and helpers to check downloaded content.

The test server binary is ``$BGCOPY_TESTSERVER`` when set, else ``bgcopy-testserver`` from the
repository's cargo target directory (release, then debug), else it is built with
``cargo build --release -p bgcopy-testserver``. It listens on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Iterator, Optional

import pytest

import bgcopy

REPO = pathlib.Path(__file__).resolve().parents[3]


def _target_dir() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target if target.is_absolute() else REPO / target


def testserver_binary() -> pathlib.Path:
    env = os.environ.get("BGCOPY_TESTSERVER")
    if env:
        return pathlib.Path(env)
    for profile in ("release", "debug"):
        cand = _target_dir() / profile / "bgcopy-testserver"
        if cand.is_file():
            return cand
    cargo = shutil.which("cargo") or str(pathlib.Path.home() / ".cargo" / "bin" / "cargo")
    jobs = os.environ.get("BGCOPY_JOBS", "2")
    subprocess.run([cargo, "build", "--release", "-p", "bgcopy-testserver", f"-j{jobs}"],
                   cwd=REPO, check=True)
    return _target_dir() / "release" / "bgcopy-testserver"


class TestServer:
    """A running ``bgcopy-testserver serve`` on 127.0.0.1."""

    __test__ = False  # not a test class

    def __init__(self, binary: pathlib.Path, workdir: pathlib.Path) -> None:
        self.binary = binary
        self.root_dir = workdir / "root"
        self.root_dir.mkdir()
        port_file = workdir / "port"
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--port-file", str(port_file), "--root-dir",
             str(self.root_dir), "--lifetime", "3600"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"bgcopy-testserver exited early: {err}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("bgcopy-testserver did not write its port file in 30 s")
            time.sleep(0.02)
        self.port = int(port_file.read_text().strip())
        self.base_url = f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def stats(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/__stats?path={path}", timeout=10) as r:
            return json.loads(r.read())

    def verify(self, file: os.PathLike, size: int, seed: int = 0, version: int = 0) -> None:
        """Asserts that ``file`` holds exactly the first ``size`` bytes of /data content."""
        res = subprocess.run(
            [str(self.binary), "verify", str(file), "--size", str(size), "--seed", str(seed),
             "--version", str(version)],
            capture_output=True, text=True,
        )
        assert res.returncode == 0, f"{file}: {res.stdout}{res.stderr}"

    def content(self, size: int, seed: int = 0) -> bytes:
        """The bytes of /data/<size>?seed=<seed>."""
        res = subprocess.run([str(self.binary), "gen", "--size", str(size), "--seed", str(seed)],
                             capture_output=True, check=True)
        return res.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def server() -> Iterator[TestServer]:
    with tempfile.TemporaryDirectory(prefix="bgcopy-pytest-srv-") as d:
        srv = TestServer(testserver_binary(), pathlib.Path(d))
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture
def manager() -> Iterator[bgcopy.Manager]:
    """An in-memory manager whose retries are not held back by the 5 s floor."""
    with bgcopy.Manager(bgcopy.MEMORY, options={bgcopy.Option.RETRY_DELAY_FLOOR_MS: 0}) as m:
        yield m


@pytest.fixture
def tmp(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path


def leftover_temp_files(directory: pathlib.Path) -> list:
    """bgcopy's hidden temp files (.bgcopy-*.tmp) left in ``directory``."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".bgcopy-"))


def wait_until(predicate, timeout: float = 20.0, interval: float = 0.02,
               what: Optional[str] = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(interval)


def python_env() -> dict:
    """The environment for a child Python that imports this checkout's bgcopy."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO / "bindings" / "python")] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    )
    env["BGCOPY_LIBRARY"] = bgcopy.library_path()
    return env


PYTHON = sys.executable
