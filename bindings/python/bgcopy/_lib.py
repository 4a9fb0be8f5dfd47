"""Loading libbgcopy and declaring every C function of include/bgcopy.h for ctypes.

Every function gets explicit ``argtypes`` and ``restype``: ctypes would otherwise pass 64-bit
handles as C ``int`` and truncate them. The table :data:`SIGNATURES` is the single place that
mirrors the header; ``tests/test_api_coverage.py`` checks that it names every ``bg_*`` function
of the header.

Where the library comes from, first match wins:

1. the environment variable ``BGCOPY_LIBRARY`` (a path to ``libbgcopy.so``), when set: an
   explicit choice beats whatever a wheel carries;
2. ``libbgcopy.so`` inside this package (wheels and sdists carry it, see ``setup.py``);
3. a source checkout: ``<repo>/target/release`` then ``<repo>/target/debug`` (or
   ``$CARGO_TARGET_DIR``), when this package is imported from ``bindings/python`` of the repo;
4. the system's loader (``ctypes.util.find_library("bgcopy")``, e.g. after ``cmake --install``).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pathlib
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_int32,
    c_int64,
    c_size_t,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Dict, List, Optional, Tuple, Union

__all__ = [
    "BgGuid",
    "BgJobCallbacks",
    "BgJobProgress",
    "BgFileProgress",
    "BgJobTimes",
    "BgJobError",
    "SIGNATURES",
    "lib",
    "library_path",
]

if sys.platform == "darwin":
    LIBRARY_FILE = "libbgcopy.dylib"
elif sys.platform == "win32":
    LIBRARY_FILE = "bgcopy.dll"
else:
    LIBRARY_FILE = "libbgcopy.so"

# C types of the header.
bg_hresult = c_int32
bg_manager = c_uint64
bg_job = c_uint64
bg_job_state = c_int32
bg_job_type = c_int32
bg_job_priority = c_int32
bg_error_context = c_int32


class BgGuid(Structure):
    """``struct bg_guid``: 16 bytes, RFC 4122 byte order."""

    _fields_ = [("bytes", c_uint8 * 16)]


class BgJobProgress(Structure):
    """``struct bg_job_progress``."""

    _fields_ = [
        ("bytes_total", c_uint64),
        ("bytes_transferred", c_uint64),
        ("files_total", c_uint32),
        ("files_transferred", c_uint32),
    ]


class BgFileProgress(Structure):
    """``struct bg_file_progress``."""

    _fields_ = [
        ("bytes_total", c_uint64),
        ("bytes_transferred", c_uint64),
        ("completed", c_int32),
    ]


class BgJobTimes(Structure):
    """``struct bg_job_times`` (milliseconds since the Unix epoch; 0 = not yet)."""

    _fields_ = [
        ("creation_time", c_int64),
        ("modification_time", c_int64),
        ("transfer_completion_time", c_int64),
    ]


class BgJobError(Structure):
    """``struct bg_job_error``."""

    _fields_ = [
        ("context", bg_error_context),
        ("code", bg_hresult),
        ("file_index", c_uint32),
    ]


#: ``void (*job_transferred)(void *user_data, bg_job job)``
JOB_TRANSFERRED_FN = CFUNCTYPE(None, c_void_p, bg_job)
#: ``void (*job_error)(void *user_data, bg_job job, const struct bg_job_error *error)``
JOB_ERROR_FN = CFUNCTYPE(None, c_void_p, bg_job, POINTER(BgJobError))
#: ``void (*job_modification)(void *user_data, bg_job job)``
JOB_MODIFICATION_FN = CFUNCTYPE(None, c_void_p, bg_job)
#: ``void (*file_transferred)(void *user_data, bg_job job, uint32_t file_index)``
FILE_TRANSFERRED_FN = CFUNCTYPE(None, c_void_p, bg_job, c_uint32)
#: ``bg_user_data_free``: ``void (*)(void *user_data)``
USER_DATA_FREE_FN = CFUNCTYPE(None, c_void_p)


class BgJobCallbacks(Structure):
    """``struct bg_job_callbacks``: every member may be NULL."""

    _fields_ = [
        ("job_transferred", JOB_TRANSFERRED_FN),
        ("job_error", JOB_ERROR_FN),
        ("job_modification", JOB_MODIFICATION_FN),
        ("file_transferred", FILE_TRANSFERRED_FN),
    ]


_char_buf = POINTER(c_char)  # a caller buffer (create_string_buffer) or None
_size_p = POINTER(c_size_t)
_u32_p = POINTER(c_uint32)

#: name -> (restype, argtypes) of every C function of include/bgcopy.h, in header order.
SIGNATURES: Dict[str, Tuple[object, List[object]]] = {
    # job: files
    "bg_job_add_file": (bg_hresult, [bg_job, c_char_p, c_char_p]),
    "bg_job_add_file_set": (bg_hresult, [bg_job, c_size_t, POINTER(c_char_p), POINTER(c_char_p)]),
    "bg_job_get_file_count": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_get_file_progress": (bg_hresult, [bg_job, c_uint32, POINTER(BgFileProgress)]),
    "bg_job_get_file_remote_name": (bg_hresult, [bg_job, c_uint32, _char_buf, c_size_t, _size_p]),
    "bg_job_get_file_local_name": (bg_hresult, [bg_job, c_uint32, _char_buf, c_size_t, _size_p]),
    "bg_job_get_file_temp_name": (bg_hresult, [bg_job, c_uint32, _char_buf, c_size_t, _size_p]),
    # job: life cycle
    "bg_job_resume": (bg_hresult, [bg_job]),
    "bg_job_suspend": (bg_hresult, [bg_job]),
    "bg_job_cancel": (bg_hresult, [bg_job]),
    "bg_job_complete": (bg_hresult, [bg_job]),
    "bg_job_wait": (bg_hresult, [bg_job, c_uint32, POINTER(bg_job_state)]),
    "bg_job_release": (bg_hresult, [bg_job]),
    # job: what it is and where it stands
    "bg_job_get_id": (bg_hresult, [bg_job, POINTER(BgGuid)]),
    "bg_job_get_type": (bg_hresult, [bg_job, POINTER(bg_job_type)]),
    "bg_job_get_state": (bg_hresult, [bg_job, POINTER(bg_job_state)]),
    "bg_job_get_progress": (bg_hresult, [bg_job, POINTER(BgJobProgress)]),
    "bg_job_get_times": (bg_hresult, [bg_job, POINTER(BgJobTimes)]),
    "bg_job_get_error": (bg_hresult, [bg_job, POINTER(BgJobError), _char_buf, c_size_t, _size_p]),
    "bg_job_get_error_count": (bg_hresult, [bg_job, _u32_p]),
    # job: properties
    "bg_job_set_display_name": (bg_hresult, [bg_job, c_char_p]),
    "bg_job_get_display_name": (bg_hresult, [bg_job, _char_buf, c_size_t, _size_p]),
    "bg_job_set_description": (bg_hresult, [bg_job, c_char_p]),
    "bg_job_get_description": (bg_hresult, [bg_job, _char_buf, c_size_t, _size_p]),
    "bg_job_set_priority": (bg_hresult, [bg_job, bg_job_priority]),
    "bg_job_get_priority": (bg_hresult, [bg_job, POINTER(bg_job_priority)]),
    "bg_job_set_minimum_retry_delay": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_minimum_retry_delay": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_set_no_progress_timeout": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_no_progress_timeout": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_set_notify_flags": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_notify_flags": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_set_maximum_download_time": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_maximum_download_time": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_set_security_flags": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_security_flags": (bg_hresult, [bg_job, _u32_p]),
    "bg_job_set_max_rate": (bg_hresult, [bg_job, c_uint64]),
    "bg_job_get_max_rate": (bg_hresult, [bg_job, POINTER(c_uint64)]),
    # job: notifications
    "bg_job_set_callbacks": (
        bg_hresult,
        [bg_job, POINTER(BgJobCallbacks), c_void_p, USER_DATA_FREE_FN],
    ),
    "bg_job_get_callbacks": (bg_hresult, [bg_job, POINTER(BgJobCallbacks), POINTER(c_void_p)]),
    "bg_job_set_notify_cmd_line": (bg_hresult, [bg_job, c_char_p, POINTER(c_char_p), c_size_t]),
    "bg_job_get_notify_cmd_line": (bg_hresult, [bg_job, _char_buf, c_size_t, _size_p]),
    "bg_job_set_minimum_notification_interval": (bg_hresult, [bg_job, c_uint32]),
    "bg_job_get_minimum_notification_interval": (bg_hresult, [bg_job, _u32_p]),
    # library
    "bg_version": (c_char_p, []),
    "bg_hresult_message": (c_char_p, [bg_hresult]),
    "bg_guid_to_string": (bg_hresult, [POINTER(BgGuid), _char_buf, c_size_t, _size_p]),
    "bg_guid_from_string": (bg_hresult, [c_char_p, POINTER(BgGuid)]),
    # manager
    "bg_manager_open": (bg_hresult, [c_char_p, POINTER(bg_manager)]),
    "bg_manager_close": (bg_hresult, [bg_manager]),
    "bg_manager_create_job": (
        bg_hresult,
        [bg_manager, c_char_p, bg_job_type, POINTER(BgGuid), POINTER(bg_job)],
    ),
    "bg_manager_get_job": (bg_hresult, [bg_manager, POINTER(BgGuid), POINTER(bg_job)]),
    "bg_manager_enum_jobs": (
        bg_hresult,
        [bg_manager, c_uint32, POINTER(BgGuid), c_size_t, _size_p],
    ),
    "bg_manager_set_option": (bg_hresult, [bg_manager, c_int32, c_uint64]),
    "bg_manager_get_option": (bg_hresult, [bg_manager, c_int32, POINTER(c_uint64)]),
}

#: Test-only entry points, present only in a library built with the ``test-hooks`` feature.
#: Bound when present; never required.
OPTIONAL_SIGNATURES: Dict[str, Tuple[object, List[object]]] = {
    "bg_test_panic": (bg_hresult, []),
    "bg_test_hold": (bg_hresult, [bg_job, c_uint32, c_uint64]),
    "bg_test_release_hold": (bg_hresult, [bg_job]),
}

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent


def _candidates() -> List[pathlib.Path]:
    """The places the library is looked for, in order (see the module docstring)."""
    found: List[pathlib.Path] = []
    env = os.environ.get("BGCOPY_LIBRARY")
    if env:
        return [pathlib.Path(env)]
    found.append(_PACKAGE_DIR / LIBRARY_FILE)
    repo = _PACKAGE_DIR.parent.parent.parent  # bindings/python/bgcopy -> repo
    if (repo / "Cargo.toml").is_file() and (repo / "include" / "bgcopy.h").is_file():
        target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or repo / "target")
        if not target.is_absolute():
            target = repo / target
        found.append(target / "release" / LIBRARY_FILE)
        found.append(target / "debug" / LIBRARY_FILE)
    return found


class _Library:
    """The loaded library, with every function of :data:`SIGNATURES` as an attribute."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dll: Optional[ctypes.CDLL] = None
        self.path: Optional[str] = None

    def _load(self) -> ctypes.CDLL:
        with self._lock:
            if self._dll is not None:
                return self._dll
            tried: List[str] = []
            dll = None
            for cand in _candidates():
                tried.append(str(cand))
                if cand.is_file():
                    dll = ctypes.CDLL(str(cand))
                    self.path = str(cand)
                    break
            if dll is None and not os.environ.get("BGCOPY_LIBRARY"):
                name = ctypes.util.find_library("bgcopy")
                tried.append(f"find_library('bgcopy') -> {name}")
                if name:
                    dll = ctypes.CDLL(name)
                    self.path = name
            if dll is None:
                raise OSError(
                    "bgcopy: cannot find the native library; set BGCOPY_LIBRARY to the path of "
                    f"{LIBRARY_FILE} (tried: {', '.join(tried)})"
                )
            for name, (restype, argtypes) in SIGNATURES.items():
                fn = getattr(dll, name)  # AttributeError: the library is older than the binding
                fn.restype = restype
                fn.argtypes = argtypes
            for name, (restype, argtypes) in OPTIONAL_SIGNATURES.items():
                fn = getattr(dll, name, None)
                if fn is not None:
                    fn.restype = restype
                    fn.argtypes = argtypes
            self._dll = dll
            return dll

    @property
    def dll(self) -> ctypes.CDLL:
        return self._dll if self._dll is not None else self._load()

    def has(self, name: str) -> bool:
        """True when the library exports ``name`` (e.g. the optional ``bg_test_*`` hooks)."""
        return getattr(self.dll, name, None) is not None

    def __getattr__(self, name: str):
        if name.startswith("bg_"):
            if name not in SIGNATURES and name not in OPTIONAL_SIGNATURES:
                raise AttributeError(f"{name} is not declared in bgcopy._lib.SIGNATURES")
            return getattr(self.dll, name)
        raise AttributeError(name)


#: The process-wide library object; loaded on first use.
lib = _Library()


def library_path() -> str:
    """The path of the loaded native library (loads it if needed)."""
    lib.dll  # noqa: B018 - loads
    assert lib.path is not None
    return lib.path


def guid_array(n: int) -> "ctypes.Array[BgGuid]":
    """A C array of ``n`` GUIDs."""
    return (BgGuid * max(n, 1))()


def cstr(value: Union[str, bytes, "os.PathLike[str]"], what: str) -> bytes:
    """Encodes a str/bytes/path argument as UTF-8 bytes for a ``const char *``; refuses NULs."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    else:
        raise TypeError(f"{what} must be str, bytes or os.PathLike, not {type(value).__name__}")
    if b"\0" in data:
        from .errors import InvalidArgumentError
        from ._constants import E_INVALIDARG

        raise InvalidArgumentError(E_INVALIDARG, detail=f"{what} contains a NUL character")
    return data
