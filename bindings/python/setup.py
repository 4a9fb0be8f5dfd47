"""Build hooks that put the native library (libbgcopy.so) into the package.

``pip install ./bindings/python`` (and ``pip wheel``, ``python -m build``) copy the library into
``bgcopy/`` of the wheel. Where it comes from, first match wins:

1. ``$BGCOPY_LIBRARY`` (a path to a built libbgcopy.so);
2. ``bgcopy/libbgcopy.so`` already in the source tree (an sdist made by this file carries it);
3. ``<repo>/target/release/libbgcopy.so`` (or ``$CARGO_TARGET_DIR/release``), when this directory
   is ``bindings/python`` of a bgcopy checkout;
4. ``cargo build --release -p bgcopy --lib`` in that checkout (``-j$BGCOPY_JOBS``, default 2),
   then 3.

``BGCOPY_SKIP_NATIVE=1`` builds a package without the library (it then loads the library from
``$BGCOPY_LIBRARY`` or the system at run time). The wheel is tagged ``py3-none-<platform>``: it
carries a native library but no Python extension.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
if sys.platform == "darwin":
    LIB = "libbgcopy.dylib"
else:
    LIB = "libbgcopy.so"


def _target_dir() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or REPO / "target")
    return target if target.is_absolute() else REPO / target


def _in_checkout() -> bool:
    return (REPO / "Cargo.toml").is_file() and (REPO / "include" / "bgcopy.h").is_file()


def find_native_library() -> pathlib.Path | None:
    """The libbgcopy.so to ship (see the module docstring); None with BGCOPY_SKIP_NATIVE=1."""
    if os.environ.get("BGCOPY_SKIP_NATIVE") == "1":
        return None
    env = os.environ.get("BGCOPY_LIBRARY")
    if env:
        path = pathlib.Path(env)
        if not path.is_file():
            raise SystemExit(f"bgcopy setup: BGCOPY_LIBRARY={env} is not a file")
        return path
    in_tree = HERE / "bgcopy" / LIB
    if in_tree.is_file():
        return in_tree
    if not _in_checkout():
        raise SystemExit(
            f"bgcopy setup: no {LIB}: set BGCOPY_LIBRARY, or build from a bgcopy checkout"
        )
    built = _target_dir() / "release" / LIB
    if built.is_file():
        return built
    cargo = shutil.which("cargo") or str(
        pathlib.Path(os.environ.get("CARGO_HOME", pathlib.Path.home() / ".cargo")) / "bin" / "cargo"
    )
    jobs = os.environ.get("BGCOPY_JOBS", "2")
    cmd = [cargo, "build", "--release", "-p", "bgcopy", "--lib", f"-j{jobs}"]
    print(f"bgcopy setup: {built} missing; running {' '.join(cmd)}", file=sys.stderr)
    subprocess.run(cmd, cwd=REPO, check=True)
    if not built.is_file():
        raise SystemExit(f"bgcopy setup: cargo build did not produce {built}")
    return built


class BuildPyWithLibrary(build_py):
    """build_py that also copies the native library into the built package."""

    def run(self) -> None:
        super().run()
        lib = find_native_library()
        if lib is not None:
            dest = pathlib.Path(self.build_lib) / "bgcopy" / LIB
            dest.parent.mkdir(parents=True, exist_ok=True)
            if lib.resolve() != dest.resolve():
                shutil.copyfile(lib, dest)
            os.chmod(dest, 0o755)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        if os.environ.get("BGCOPY_SKIP_NATIVE") != "1":
            outputs.append(str(pathlib.Path(self.build_lib) / "bgcopy" / LIB))
        return outputs


class SdistWithLibrary(sdist):
    """sdist that carries the native library, so a wheel built from it needs no Rust."""

    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        lib = find_native_library()
        if lib is not None:
            shutil.copyfile(lib, pathlib.Path(base_dir) / "bgcopy" / LIB)


class BinaryDistribution(Distribution):
    """The package carries a native library: install it as platform-specific (platlib)."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass = {"build_py": BuildPyWithLibrary, "sdist": SdistWithLibrary}

try:  # setuptools >= 70.1 ships bdist_wheel; older ones use the wheel package
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover - depends on the build environment
    try:
        from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore
    except ImportError:
        _bdist_wheel = None  # type: ignore

if _bdist_wheel is not None:

    class BdistWheelPlatform(_bdist_wheel):  # type: ignore[misc, valid-type]
        """A platform wheel (it carries a native library) usable by any Python 3."""

        def finalize_options(self) -> None:
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self) -> tuple[str, str, str]:
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = BdistWheelPlatform

setup(cmdclass=cmdclass, distclass=BinaryDistribution)
