"""The binding covers the whole header: every function is declared, every constant present."""
from __future__ import annotations

import ctypes
import re
import subprocess
import sys

import pytest

import bgcopy
from bgcopy import _constants, _lib

from conftest import REPO

HEADER = REPO / "include" / "bgcopy.h"


def header_functions() -> set:
    text = HEADER.read_text()
    # declarations: "<return type> bg_name(" at the start of a line (not inside comments)
    names = set(re.findall(r"^[A-Za-z_][\w \*]*?\b(bg_[a-z0-9_]+)\s*\(", text, re.M))
    return {n for n in names if not n.startswith("bg_test_")}


def test_header_found():
    assert HEADER.is_file(), HEADER
    assert len(header_functions()) > 30


def test_every_header_function_is_bound():
    missing = sorted(header_functions() - set(_lib.SIGNATURES))
    assert not missing, f"functions of include/bgcopy.h without a ctypes declaration: {missing}"


def test_no_binding_for_a_function_the_header_lacks():
    extra = sorted(set(_lib.SIGNATURES) - header_functions())
    assert not extra, f"declared in bgcopy._lib but not in the header: {extra}"


def test_every_declared_function_has_argtypes_and_restype():
    dll = _lib.lib.dll
    for name, (restype, argtypes) in _lib.SIGNATURES.items():
        fn = getattr(dll, name)
        assert fn.restype is restype, name
        assert fn.argtypes is not None and list(fn.argtypes) == list(argtypes), name


def test_argument_counts_match_the_header():
    text = " ".join(HEADER.read_text().split())
    for name, (_, argtypes) in _lib.SIGNATURES.items():
        m = re.search(rf"\b{name}\(([^)]*)\);", text)
        assert m, name
        params = m.group(1).strip()
        count = 0 if params in ("", "void") else params.count(",") + 1
        assert count == len(argtypes), f"{name}: header has {count} parameters"


def test_structs_have_the_c_sizes():
    assert ctypes.sizeof(_lib.BgGuid) == 16
    assert ctypes.sizeof(_lib.BgJobProgress) == 24
    assert ctypes.sizeof(_lib.BgFileProgress) == 24
    assert ctypes.sizeof(_lib.BgJobTimes) == 24
    assert ctypes.sizeof(_lib.BgJobError) == 12


def test_generated_constants_are_current():
    res = subprocess.run([sys.executable, str(REPO / "bindings" / "gen_constants.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_constants_match_the_header():
    defines = dict(
        (m.group(1), int(m.group(2)))
        for m in re.finditer(r"^#define\s+([A-Z][A-Z0-9_]*)\s+(-?\d+)(?:ull)?\s*$",
                             HEADER.read_text(), re.M)
    )
    assert defines == _constants.ALL
    assert bgcopy.BG_E_HTTP_ERROR_404 == -2145844844
    assert bgcopy.BG_E_INVALID_STATE & 0xFFFFFFFF == 0x80200002


def test_versions_agree():
    assert bgcopy.version() == _constants.BGCOPY_VERSION_STRING == bgcopy.__version__


@pytest.mark.parametrize("enum_cls,prefix", [
    (bgcopy.JobState, "BG_JOB_STATE_"),
    (bgcopy.JobType, "BG_JOB_TYPE_"),
    (bgcopy.Priority, "BG_JOB_PRIORITY_"),
    (bgcopy.ErrorContext, "BG_ERROR_CONTEXT_"),
    (bgcopy.Option, "BG_OPTION_"),
    (bgcopy.NotifyFlags, "BG_NOTIFY_"),
])
def test_enums_cover_the_header(enum_cls, prefix):
    expected = {k[len(prefix):]: v for k, v in _constants.ALL.items() if k.startswith(prefix)}
    assert {m.name: m.value for m in enum_cls} == expected
