"""Job callbacks (``bg_job_set_callbacks``) for Python functions.

The library calls back on its own dispatcher thread, one call at a time, in event order per
job, never under a library lock; ctypes takes the GIL for each call. What crosses into C:

* four trampolines and one ``user_data_free`` function, created once for the whole process and
  never freed (so C never holds a pointer to a Python object that could go away);
* ``user_data`` is a plain integer token, the key of :data:`_REGISTRY` where the Python
  functions live. The library calls ``user_data_free`` exactly once per registration (when the
  callbacks are replaced or removed, or the job's last reference goes): that drops the entry.

The ``job`` a callback receives is a :class:`~bgcopy.Job` that borrows the handle the library
passes: valid during the call only (it is invalidated on return, so keeping it around gives
:class:`~bgcopy.InvalidHandleError` instead of a dangling handle). Use ``job.id`` with
:meth:`Manager.get_job` to keep a handle of your own.

An exception raised by a callback does not reach the library: it goes to
:data:`callback_exception_handler` (default: printed to stderr with its traceback).

At interpreter exit an ``atexit`` hook removes every registration and waits (up to 5 s) for
the library to release them, so no callback arrives while Python shuts down.
"""
from __future__ import annotations

import atexit
import itertools
import sys
import threading
import traceback
import uuid
from ctypes import byref, c_void_p
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from . import _constants as C
from ._lib import (
    FILE_TRANSFERRED_FN,
    JOB_ERROR_FN,
    JOB_MODIFICATION_FN,
    JOB_TRANSFERRED_FN,
    USER_DATA_FREE_FN,
    BgGuid,
    BgJobCallbacks,
    lib,
)

if TYPE_CHECKING:  # pragma: no cover
    from ._core import Job, JobError, Manager

__all__ = ["Callbacks", "callback_exception_handler", "registered_count"]


@dataclass(frozen=True)
class Callbacks:
    """The Python functions registered for one job. Any of them may be None."""

    on_transferred: Optional[Callable[["Job"], Any]] = None
    on_error: Optional[Callable[["Job", "JobError"], Any]] = None
    on_modification: Optional[Callable[["Job"], Any]] = None
    on_file_transferred: Optional[Callable[["Job", int], Any]] = None


def _print_exception(exc: BaseException) -> None:
    print("bgcopy: exception in a job callback (ignored):", file=sys.stderr)
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


#: Called with the exception when a callback raises; replace it to log differently.
callback_exception_handler: Callable[[BaseException], Any] = _print_exception


@dataclass
class _Entry:
    callbacks: Callbacks
    manager: "Manager"
    job_id: uuid.UUID


_REGISTRY: Dict[int, _Entry] = {}
_LOCK = threading.Lock()
_EMPTY = threading.Condition(_LOCK)
_TOKENS = itertools.count(1)
_shutting_down = False


def registered_count() -> int:
    """How many registrations the library has not released yet (for tests and diagnostics)."""
    with _LOCK:
        return len(_REGISTRY)


def _entry(user_data: Optional[int]) -> Optional[_Entry]:
    if _shutting_down or not user_data:
        return None
    with _LOCK:
        return _REGISTRY.get(user_data)


def _deliver(user_data: Optional[int], handle: int, call: Callable[["Job"], Any]) -> None:
    entry = _entry(user_data)
    if entry is None:
        return
    from ._core import Job

    job = Job._borrow(entry.manager, handle, entry.job_id)
    try:
        call(job)
    except BaseException as exc:  # noqa: BLE001 - never propagate into C
        try:
            callback_exception_handler(exc)
        except BaseException:  # noqa: BLE001
            pass
    finally:
        job._invalidate()


def _on_transferred(user_data: Optional[int], handle: int) -> None:
    entry = _entry(user_data)
    if entry is not None and entry.callbacks.on_transferred is not None:
        _deliver(user_data, handle, entry.callbacks.on_transferred)


def _on_error(user_data: Optional[int], handle: int, error_p: Any) -> None:
    entry = _entry(user_data)
    if entry is None or entry.callbacks.on_error is None:
        return
    from ._core import JobError
    from .enums import ErrorContext

    e = error_p.contents
    try:
        context = ErrorContext(e.context)
    except ValueError:
        context = ErrorContext.UNKNOWN
    code, index = e.code, (None if e.file_index == 0xFFFFFFFF else e.file_index)
    fn = entry.callbacks.on_error

    def call(job: "Job") -> None:
        description = ""
        try:
            current = job.error
            if current is not None and current.code == code:
                description = current.description
        except Exception:  # noqa: BLE001 - the description is a bonus
            pass
        fn(job, JobError(context=context, code=code, file_index=index, description=description))

    _deliver(user_data, handle, call)


def _on_modification(user_data: Optional[int], handle: int) -> None:
    entry = _entry(user_data)
    if entry is not None and entry.callbacks.on_modification is not None:
        _deliver(user_data, handle, entry.callbacks.on_modification)


def _on_file_transferred(user_data: Optional[int], handle: int, index: int) -> None:
    entry = _entry(user_data)
    if entry is not None and entry.callbacks.on_file_transferred is not None:
        fn = entry.callbacks.on_file_transferred
        _deliver(user_data, handle, lambda job: fn(job, index))


def _on_free(user_data: Optional[int]) -> None:
    with _LOCK:
        _REGISTRY.pop(user_data or 0, None)
        if not _REGISTRY:
            _EMPTY.notify_all()


# The C function pointers: created once, alive for the whole process.
_C_TRANSFERRED = JOB_TRANSFERRED_FN(_on_transferred)
_C_ERROR = JOB_ERROR_FN(_on_error)
_C_MODIFICATION = JOB_MODIFICATION_FN(_on_modification)
_C_FILE_TRANSFERRED = FILE_TRANSFERRED_FN(_on_file_transferred)
_C_FREE = USER_DATA_FREE_FN(_on_free)
_C_NULL_FREE = USER_DATA_FREE_FN()  # a NULL bg_user_data_free (ctypes refuses None here)


def set_callbacks(manager: "Manager", handle: int, job_id: uuid.UUID,
                  callbacks: Optional[Callbacks]) -> None:
    """Registers ``callbacks`` for the job (None removes them)."""
    from .errors import check

    if callbacks is None or not any(
        (callbacks.on_transferred, callbacks.on_error, callbacks.on_modification,
         callbacks.on_file_transferred)
    ):
        check(lib.bg_job_set_callbacks(handle, None, None, _C_NULL_FREE))
        return
    table = BgJobCallbacks()
    if callbacks.on_transferred is not None:
        table.job_transferred = _C_TRANSFERRED
    if callbacks.on_error is not None:
        table.job_error = _C_ERROR
    if callbacks.on_modification is not None:
        table.job_modification = _C_MODIFICATION
    if callbacks.on_file_transferred is not None:
        table.file_transferred = _C_FILE_TRANSFERRED
    with _LOCK:
        token = next(_TOKENS)
        _REGISTRY[token] = _Entry(callbacks, manager, job_id)
    hr = lib.bg_job_set_callbacks(handle, byref(table), c_void_p(token), _C_FREE)
    if hr < 0:
        with _LOCK:  # nothing was taken: user_data_free will not run
            _REGISTRY.pop(token, None)
        check(hr)


def get_callbacks(handle: int) -> Optional[Callbacks]:
    """The callbacks this process registered for the job, or None."""
    from .errors import check

    table = BgJobCallbacks()
    user_data = c_void_p()
    check(lib.bg_job_get_callbacks(handle, byref(table), byref(user_data)))
    if not user_data.value:
        return None
    with _LOCK:
        entry = _REGISTRY.get(user_data.value)
    return entry.callbacks if entry is not None else None


def _shutdown(timeout: float = 5.0) -> None:
    """atexit: stop deliveries and wait for the library to release every registration, so that
    no callback runs while the interpreter finalizes. Registrations that cannot be removed
    (their job has ended) are released by closing their manager, as garbage collection would
    do a moment later anyway."""
    global _shutting_down
    from ctypes import c_uint64

    _shutting_down = True
    with _LOCK:
        entries = list(_REGISTRY.values())
    to_close: Dict[int, "Manager"] = {}
    for entry in entries:
        mh = entry.manager.handle
        if not mh:
            continue  # closed: the library releases the registration by itself
        g = BgGuid()
        g.bytes[:] = list(entry.job_id.bytes)
        out = c_uint64(0)
        removed = False
        if lib.bg_manager_get_job(mh, byref(g), byref(out)) == C.S_OK:
            removed = lib.bg_job_set_callbacks(out.value, None, None, _C_NULL_FREE) >= 0
            lib.bg_job_release(out.value)
        if not removed:  # e.g. the job has ended
            to_close[id(entry.manager)] = entry.manager
    for m in to_close.values():
        try:
            m.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    with _LOCK:
        _EMPTY.wait_for(lambda: not _REGISTRY, timeout=timeout)


atexit.register(_shutdown)
