"""Manager and Job: the Pythonic surface over the C handles."""
from __future__ import annotations

import ctypes
import datetime as _dt
import os
import threading
import time
import uuid
from ctypes import byref, c_char_p, c_int32, c_size_t, c_uint32, c_uint64, create_string_buffer
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, List, Mapping, Optional, Tuple, Union

from . import _constants as C
from ._lib import (
    BgFileProgress,
    BgGuid,
    BgJobError,
    BgJobProgress,
    BgJobTimes,
    cstr,
    lib,
)
from .enums import CompleteResult, ErrorContext, JobState, JobType, Option, Priority
from .errors import (
    BgcopyError,
    InvalidHandleError,
    check,
    error_from_hresult,
    hresult_message,
    hresult_name,
)

if TYPE_CHECKING:  # pragma: no cover
    from ._callbacks import Callbacks

__all__ = [
    "Manager",
    "Job",
    "JobProgress",
    "FileInfo",
    "JobTimes",
    "JobError",
    "GuidLike",
    "version",
    "parse_guid",
    "SIZE_UNKNOWN",
    "MEMORY",
]

#: ``BG_SIZE_UNKNOWN``; the dataclasses below report an unknown size as ``None`` instead.
SIZE_UNKNOWN = C.BG_SIZE_UNKNOWN
#: The state directory of a manager that persists nothing.
MEMORY = ":memory:"

#: Anything that names a job: a :class:`uuid.UUID`, its text (with or without braces), its 16
#: bytes, or a :class:`Job`.
GuidLike = Union[uuid.UUID, str, bytes, "Job"]
PathLike = Union[str, bytes, "os.PathLike[str]"]

# bg_job_wait is called in slices of this many milliseconds, so that Ctrl-C (KeyboardInterrupt)
# and timeouts are honoured promptly; the call itself does not spin.
_WAIT_SLICE_MS = 200


def version() -> str:
    """The native library's version (``bg_version()``), e.g. ``"0.1.0"``."""
    return lib.bg_version().decode("utf-8")


def _read_string(fn: Callable[..., int], *args: Any) -> Tuple[str, int]:
    """Calls a string getter with the (buf, cap, out_needed) convention, growing the buffer."""
    cap = 256
    needed = c_size_t(0)
    while True:
        buf = create_string_buffer(cap)
        hr = fn(*args, buf, cap, byref(needed))
        if hr == C.BG_E_INSUFFICIENT_BUFFER and needed.value > cap:
            cap = needed.value
            continue
        check(hr)
        return buf.value.decode("utf-8", "surrogateescape"), hr


def _guid_to_uuid(g: BgGuid) -> uuid.UUID:
    return uuid.UUID(bytes=bytes(g.bytes))


def parse_guid(value: GuidLike) -> BgGuid:
    """Converts a GUID-like value to the C struct (text is parsed by ``bg_guid_from_string``)."""
    if isinstance(value, Job):
        value = value.id
    g = BgGuid()
    if isinstance(value, uuid.UUID):
        ctypes.memmove(g.bytes, value.bytes, 16)
    elif isinstance(value, (bytes, bytearray)) and len(value) == 16:
        ctypes.memmove(g.bytes, bytes(value), 16)
    elif isinstance(value, str):
        check(lib.bg_guid_from_string(cstr(value, "guid"), byref(g)), f"not a GUID: {value!r}")
    else:
        raise TypeError(f"expected a GUID (uuid.UUID, str or 16 bytes), got {value!r}")
    return g


def _ms_to_datetime(ms: int) -> Optional[_dt.datetime]:
    if ms == 0:
        return None
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)


@dataclass(frozen=True)
class JobProgress:
    """A job's progress (``bg_job_progress``). Sizes not known yet are ``None``."""

    bytes_total: Optional[int]
    bytes_transferred: int
    files_total: int
    files_transferred: int

    @property
    def fraction(self) -> Optional[float]:
        """Bytes transferred / bytes total in [0, 1], or None while the total is unknown."""
        if self.bytes_total is None:
            return None
        if self.bytes_total == 0:
            return 1.0 if self.files_total == self.files_transferred else 0.0
        return min(1.0, self.bytes_transferred / self.bytes_total)


@dataclass(frozen=True)
class FileInfo:
    """One file of a job: names and progress (``bg_file_progress``)."""

    index: int
    remote_name: str
    local_name: str
    #: The hidden temp file beside the destination while it exists, else None.
    temp_name: Optional[str]
    #: The size, or None until it is known.
    bytes_total: Optional[int]
    bytes_transferred: int
    #: True once Complete renamed the file into place.
    completed: bool

    @property
    def transferred(self) -> bool:
        """True when every byte of the file is in its temp file (or it was completed)."""
        return self.completed or (
            self.bytes_total is not None and self.bytes_transferred == self.bytes_total
        )


@dataclass(frozen=True)
class JobTimes:
    """A job's times (UTC). ``transfer_completion_time`` is None until TRANSFERRED."""

    creation_time: Optional[_dt.datetime]
    modification_time: Optional[_dt.datetime]
    transfer_completion_time: Optional[_dt.datetime]


@dataclass(frozen=True)
class JobError:
    """A job's error object (``bg_job_get_error``), present in ERROR and TRANSIENT_ERROR."""

    context: ErrorContext
    #: The failure code (a signed 32-bit HRESULT), e.g. ``bgcopy.BG_E_HTTP_ERROR_404``.
    code: int
    #: The file involved, or None when the error is not about one file.
    file_index: Optional[int]
    #: The library's description: the cause and the file's names.
    description: str

    @property
    def hresult(self) -> int:
        """Alias of :attr:`code`."""
        return self.code

    @property
    def message(self) -> str:
        """``bg_hresult_message(code)``."""
        return hresult_message(self.code)

    @property
    def name(self) -> Optional[str]:
        """The header's name of the code, e.g. ``"BG_E_HTTP_ERROR_404"``."""
        return hresult_name(self.code)

    def exception(self) -> BgcopyError:
        """The error as an exception of the matching class (404 → :class:`bgcopy.HttpError`)."""
        return error_from_hresult(self.code, detail=self.description or None)


def _abs_state_dir(state_dir: Optional[PathLike]) -> Optional[bytes]:
    if state_dir is None:
        return None
    raw = os.fspath(state_dir)
    if raw in (MEMORY, MEMORY.encode()):
        return cstr(raw, "state_dir")
    return cstr(os.path.abspath(raw), "state_dir")


class Manager:
    """An open job queue (``bg_manager``) of a state directory.

    ``state_dir``: None for the per-user default directory, ``":memory:"`` for a queue that
    persists nothing, or a directory (made absolute; created if missing). ``options`` sets
    manager options at once (see :meth:`set_option`).

    Use it as a context manager, or call :meth:`close`; closing stops the manager's transfers
    cleanly and invalidates its :class:`Job` objects (jobs themselves are never cancelled).
    One Manager may be used from any number of threads.
    """

    def __init__(self, state_dir: Optional[PathLike] = None, *,
                 options: Optional[Mapping[Union[Option, int], int]] = None) -> None:
        self._handle = 0
        self._lock = threading.Lock()
        encoded = _abs_state_dir(state_dir)
        #: The state directory as opened (absolute), ":memory:", or None for the default.
        self.state_dir: Optional[str] = None if encoded is None else os.fsdecode(encoded)
        out = c_uint64(0)
        check(lib.bg_manager_open(encoded, byref(out)))
        self._handle = out.value
        try:
            for opt, value in (options or {}).items():
                self.set_option(opt, value)
        except BaseException:
            self.close()
            raise

    # ---- life cycle -------------------------------------------------------------------------

    @property
    def handle(self) -> int:
        """The raw ``bg_manager`` handle (0 once closed)."""
        return self._handle

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._handle == 0

    def _h(self) -> int:
        h = self._handle
        if h == 0:
            raise InvalidHandleError(C.E_HANDLE, detail="the manager is closed")
        return h

    def close(self) -> None:
        """Closes the manager (idempotent). Blocks until its transfers have stopped."""
        with self._lock:
            h, self._handle = self._handle, 0
        if h:
            check(lib.bg_manager_close(h))

    def __enter__(self) -> "Manager":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            h, self._handle = self._handle, 0
            if h:
                lib.bg_manager_close(h)
        except Exception:  # noqa: BLE001 - interpreter shutdown, half-built object
            pass

    def __repr__(self) -> str:
        where = self.state_dir if self.state_dir is not None else "<per-user default>"
        return f"<bgcopy.Manager {where!s} {'closed' if self.closed else 'open'}>"

    # ---- jobs -------------------------------------------------------------------------------

    def create_job(self, display_name: str, type: JobType = JobType.DOWNLOAD) -> "Job":
        """Creates a job (SUSPENDED, no files) and returns it."""
        g = BgGuid()
        out = c_uint64(0)
        check(lib.bg_manager_create_job(self._h(), cstr(display_name, "display_name"), int(type),
                                        byref(g), byref(out)))
        return Job(self, out.value, _guid_to_uuid(g))

    def get_job(self, guid: GuidLike) -> "Job":
        """Finds a job by GUID; :class:`NotFoundError` when it does not exist or has ended."""
        g = parse_guid(guid)
        out = c_uint64(0)
        check(lib.bg_manager_get_job(self._h(), byref(g), byref(out)))
        return Job(self, out.value, _guid_to_uuid(g))

    def job_ids(self) -> List[uuid.UUID]:
        """The GUIDs of the jobs not yet ended, oldest first (a snapshot)."""
        h = self._h()
        count = c_size_t(0)
        hr = lib.bg_manager_enum_jobs(h, 0, None, 0, byref(count))  # asks for the count
        if hr != C.BG_E_INSUFFICIENT_BUFFER:
            check(hr)
        while True:
            cap = count.value + 8  # room for jobs created meanwhile
            ids = (BgGuid * cap)()
            hr = lib.bg_manager_enum_jobs(h, 0, ids, cap, byref(count))
            if hr == C.BG_E_INSUFFICIENT_BUFFER:
                continue
            check(hr)
            return [_guid_to_uuid(ids[i]) for i in range(count.value)]

    def jobs(self) -> List["Job"]:
        """A :class:`Job` for every job not yet ended, oldest first. Jobs that end while the
        list is built are left out."""
        from .errors import NotFoundError

        result = []
        for guid in self.job_ids():
            try:
                result.append(self.get_job(guid))
            except NotFoundError:
                continue
        return result

    def find_jobs(self, display_name: str) -> List["Job"]:
        """The jobs whose display name equals ``display_name``, oldest first."""
        found = []
        for job in self.jobs():
            try:
                if job.display_name == display_name:
                    found.append(job)
                    continue
            except BgcopyError:
                pass
            job.close()
        return found

    # ---- options ----------------------------------------------------------------------------

    def get_option(self, option: Union[Option, int]) -> int:
        """Reads a manager option (``bg_manager_get_option``)."""
        out = c_uint64(0)
        check(lib.bg_manager_get_option(self._h(), int(option), byref(out)))
        return out.value

    def set_option(self, option: Union[Option, int], value: int) -> None:
        """Sets a manager option; :class:`InvalidArgumentError` when out of range."""
        check(lib.bg_manager_set_option(self._h(), int(option), int(value)))


class Job:
    """A handle to one job (``bg_job``). Create one with :meth:`Manager.create_job` or find one
    with :meth:`Manager.get_job`.

    Closing a Job (:meth:`close`, the end of a ``with`` block, or garbage collection) only
    releases the handle: the job goes on transferring, exactly as in BITS. Use :meth:`cancel`
    or :meth:`complete` to end the job itself.
    """

    def __init__(self, manager: Manager, handle: int, guid: Optional[uuid.UUID] = None) -> None:
        self._manager = manager  # keeps the manager open while its jobs live
        self._handle = handle
        self._owned = True  # False: a handle lent by the library for one callback
        self._lock = threading.Lock()
        if guid is None:
            g = BgGuid()
            check(lib.bg_job_get_id(handle, byref(g)))
            guid = _guid_to_uuid(g)
        self._id = guid

    # ---- identity and life cycle ------------------------------------------------------------

    @property
    def id(self) -> uuid.UUID:
        """The job's persistent GUID."""
        return self._id

    @property
    def guid(self) -> str:
        """The GUID as text, ``"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"``."""
        return str(self._id)

    @property
    def manager(self) -> Manager:
        """The manager this handle was opened through."""
        return self._manager

    @property
    def handle(self) -> int:
        """The raw ``bg_job`` handle (0 once closed)."""
        return self._handle

    @property
    def closed(self) -> bool:
        """True once the handle was released."""
        return self._handle == 0

    def _h(self) -> int:
        h = self._handle
        if h == 0:
            raise InvalidHandleError(C.E_HANDLE, detail="the job handle is closed")
        return h

    @classmethod
    def _borrow(cls, manager: Manager, handle: int, guid: uuid.UUID) -> "Job":
        """A Job over a handle the library lends to a callback (never released by us)."""
        job = cls.__new__(cls)
        job._manager = manager
        job._handle = handle
        job._owned = False
        job._lock = threading.Lock()
        job._id = guid
        return job

    def _invalidate(self) -> None:
        self._handle = 0

    def close(self) -> None:
        """Releases the handle (idempotent). Never cancels the job. Ignores a handle the
        manager already invalidated by closing."""
        with self._lock:
            h, self._handle = self._handle, 0
        if h and self._owned:
            hr = lib.bg_job_release(h)
            if hr != C.E_HANDLE:
                check(hr)

    release = close

    def __enter__(self) -> "Job":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            h, self._handle = self._handle, 0
            if h and self._owned:
                lib.bg_job_release(h)
        except Exception:  # noqa: BLE001 - interpreter shutdown, half-built object
            pass

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other._id == self._id

    def __hash__(self) -> int:
        return hash(self._id)

    def __repr__(self) -> str:
        try:
            state = self.state.name
        except BgcopyError:
            state = "closed" if self.closed else "?"
        return f"<bgcopy.Job {self._id} {state}>"

    # ---- files ------------------------------------------------------------------------------

    def add_file(self, remote_url: PathLike, local_path: PathLike) -> None:
        """Adds a file: ``remote_url`` (http://, https://, file:// or an absolute local path)
        is fetched into ``local_path`` (made absolute; its directory must exist)."""
        local = os.fspath(local_path)
        local = os.path.abspath(local) if local else local
        check(lib.bg_job_add_file(self._h(), cstr(remote_url, "remote_url"),
                                  cstr(local, "local_path")))

    def add_files(self, pairs: Iterable[Tuple[PathLike, PathLike]]) -> None:
        """Adds several ``(remote_url, local_path)`` pairs, in order, in one call
        (``bg_job_add_file_set``): all or none of them are added."""
        pairs = list(pairs)
        remotes = [cstr(r, "remote_url") for r, _ in pairs]
        locals_ = []
        for _, local in pairs:
            local = os.fspath(local)
            locals_.append(cstr(os.path.abspath(local) if local else local, "local_path"))
        n = len(pairs)
        check(lib.bg_job_add_file_set(self._h(), n, (c_char_p * n)(*remotes), (c_char_p * n)(*locals_)))

    @property
    def file_count(self) -> int:
        """The number of files in the job."""
        out = c_uint32(0)
        check(lib.bg_job_get_file_count(self._h(), byref(out)))
        return out.value

    def file(self, index: int) -> FileInfo:
        """Names and progress of file ``index`` (0-based, in the order added)."""
        h = self._h()
        p = BgFileProgress()
        check(lib.bg_job_get_file_progress(h, index, byref(p)))
        remote, _ = _read_string(lib.bg_job_get_file_remote_name, h, index)
        local, _ = _read_string(lib.bg_job_get_file_local_name, h, index)
        temp, hr = _read_string(lib.bg_job_get_file_temp_name, h, index)
        return FileInfo(
            index=index,
            remote_name=remote,
            local_name=local,
            temp_name=None if hr == C.S_FALSE or not temp else temp,
            bytes_total=None if p.bytes_total == SIZE_UNKNOWN else p.bytes_total,
            bytes_transferred=p.bytes_transferred,
            completed=bool(p.completed),
        )

    @property
    def files(self) -> List[FileInfo]:
        """Every file of the job, in the order added."""
        return [self.file(i) for i in range(self.file_count)]

    # ---- life cycle -------------------------------------------------------------------------

    def resume(self) -> None:
        """Queues the job for transfer; returns at once. :class:`EmptyJobError` without files."""
        check(lib.bg_job_resume(self._h()))

    def suspend(self) -> None:
        """Stops the transfer, keeping the bytes so far; the job goes to SUSPENDED."""
        check(lib.bg_job_suspend(self._h()))

    def cancel(self) -> CompleteResult:
        """Ends the job in CANCELLED, deleting its temp files (and nothing else).
        Returns OK, or UNABLE_TO_DELETE when a temp file could not be deleted."""
        return CompleteResult(check(lib.bg_job_cancel(self._h())))

    def complete(self) -> CompleteResult:
        """Renames every fully transferred file into place and ends the job in ACKNOWLEDGED.
        Returns OK (every file kept), PARTIAL (files still in flight were discarded) or
        UNABLE_TO_DELETE; raises when a rename failed (the job then stays TRANSFERRED)."""
        return CompleteResult(check(lib.bg_job_complete(self._h())))

    def wait(self, timeout: Optional[float] = None) -> JobState:
        """Waits until the job is TRANSFERRED, ERROR, ACKNOWLEDGED or CANCELLED, or ``timeout``
        seconds pass (None: no limit), and returns the state at return. Other threads run
        meanwhile (the GIL is released), and Ctrl-C interrupts the wait."""
        h = self._h()
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        state = c_int32(0)
        while True:
            if deadline is None:
                slice_ms = _WAIT_SLICE_MS
            else:
                left = deadline - time.monotonic()
                slice_ms = max(0, min(_WAIT_SLICE_MS, int(left * 1000 + 0.999)))
            hr = check(lib.bg_job_wait(h, slice_ms, byref(state)))
            if hr == C.S_OK:
                return JobState(state.value)
            if deadline is not None and time.monotonic() >= deadline:
                return JobState(state.value)

    # ---- what it is and where it stands -----------------------------------------------------

    @property
    def type(self) -> JobType:
        """The job type (DOWNLOAD)."""
        out = c_int32(0)
        check(lib.bg_job_get_type(self._h(), byref(out)))
        return JobType(out.value)

    @property
    def state(self) -> JobState:
        """The current state."""
        out = c_int32(0)
        check(lib.bg_job_get_state(self._h(), byref(out)))
        return JobState(out.value)

    @property
    def progress(self) -> JobProgress:
        """Bytes and files transferred so far (live while transferring)."""
        p = BgJobProgress()
        check(lib.bg_job_get_progress(self._h(), byref(p)))
        return JobProgress(
            bytes_total=None if p.bytes_total == SIZE_UNKNOWN else p.bytes_total,
            bytes_transferred=p.bytes_transferred,
            files_total=p.files_total,
            files_transferred=p.files_transferred,
        )

    @property
    def times(self) -> JobTimes:
        """Creation, last modification and transfer completion times (UTC)."""
        t = BgJobTimes()
        check(lib.bg_job_get_times(self._h(), byref(t)))
        return JobTimes(
            creation_time=_ms_to_datetime(t.creation_time),
            modification_time=_ms_to_datetime(t.modification_time),
            transfer_completion_time=_ms_to_datetime(t.transfer_completion_time),
        )

    @property
    def error(self) -> Optional[JobError]:
        """The error object in ERROR and TRANSIENT_ERROR, else None.
        ``job.error.exception()`` gives it as an exception (e.g. :class:`HttpError`)."""
        h = self._h()
        e = BgJobError()
        cap = 512
        needed = c_size_t(0)
        while True:
            buf = create_string_buffer(cap)
            hr = lib.bg_job_get_error(h, byref(e), buf, cap, byref(needed))
            if hr == C.BG_E_INSUFFICIENT_BUFFER and needed.value > cap:
                cap = needed.value
                continue
            if hr == C.BG_E_ERROR_INFORMATION_UNAVAILABLE:
                return None
            check(hr)
            break
        try:
            context = ErrorContext(e.context)
        except ValueError:
            context = ErrorContext.UNKNOWN
        return JobError(
            context=context,
            code=e.code,
            file_index=None if e.file_index == 0xFFFFFFFF else e.file_index,
            description=buf.value.decode("utf-8", "replace"),
        )

    def raise_for_error(self) -> None:
        """Raises the job's error as an exception when it has one (ERROR/TRANSIENT_ERROR)."""
        err = self.error
        if err is not None:
            raise err.exception()

    @property
    def error_count(self) -> int:
        """How many times the job went to TRANSIENT_ERROR or ERROR."""
        out = c_uint32(0)
        check(lib.bg_job_get_error_count(self._h(), byref(out)))
        return out.value

    # ---- properties -------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        """The display name (at most 256 UTF-16 units)."""
        return _read_string(lib.bg_job_get_display_name, self._h())[0]

    @display_name.setter
    def display_name(self, value: str) -> None:
        check(lib.bg_job_set_display_name(self._h(), cstr(value, "display_name")))

    @property
    def description(self) -> str:
        """The description (at most 1,024 characters; empty until set)."""
        return _read_string(lib.bg_job_get_description, self._h())[0]

    @description.setter
    def description(self, value: str) -> None:
        check(lib.bg_job_set_description(self._h(), cstr(value, "description")))

    @property
    def priority(self) -> Priority:
        """The priority (FOREGROUND, HIGH, NORMAL, LOW)."""
        out = c_int32(0)
        check(lib.bg_job_get_priority(self._h(), byref(out)))
        return Priority(out.value)

    @priority.setter
    def priority(self, value: Union[Priority, int]) -> None:
        check(lib.bg_job_set_priority(self._h(), int(value)))

    def _get_u32(self, fn: Callable[..., int]) -> int:
        out = c_uint32(0)
        check(fn(self._h(), byref(out)))
        return out.value

    @property
    def minimum_retry_delay(self) -> int:
        """Seconds to wait in TRANSIENT_ERROR before retrying (default 600)."""
        return self._get_u32(lib.bg_job_get_minimum_retry_delay)

    @minimum_retry_delay.setter
    def minimum_retry_delay(self, seconds: int) -> None:
        check(lib.bg_job_set_minimum_retry_delay(self._h(), seconds))

    @property
    def no_progress_timeout(self) -> int:
        """Seconds without progress before TRANSIENT_ERROR becomes ERROR (0: at once)."""
        return self._get_u32(lib.bg_job_get_no_progress_timeout)

    @no_progress_timeout.setter
    def no_progress_timeout(self, seconds: int) -> None:
        check(lib.bg_job_set_no_progress_timeout(self._h(), seconds))

    @property
    def notify_flags(self) -> int:
        """An OR of :class:`NotifyFlags` (default JOB_TRANSFERRED | JOB_ERROR)."""
        return self._get_u32(lib.bg_job_get_notify_flags)

    @notify_flags.setter
    def notify_flags(self, flags: int) -> None:
        check(lib.bg_job_set_notify_flags(self._h(), int(flags)))

    @property
    def maximum_download_time(self) -> int:
        """Seconds the job may spend transferring since its last Resume (0: no limit)."""
        return self._get_u32(lib.bg_job_get_maximum_download_time)

    @maximum_download_time.setter
    def maximum_download_time(self, seconds: int) -> None:
        check(lib.bg_job_set_maximum_download_time(self._h(), seconds))

    @property
    def security_flags(self) -> int:
        """An OR of :class:`SecurityFlags` (default 0: full certificate checks)."""
        return self._get_u32(lib.bg_job_get_security_flags)

    @security_flags.setter
    def security_flags(self, flags: int) -> None:
        check(lib.bg_job_set_security_flags(self._h(), int(flags)))

    @property
    def max_rate(self) -> int:
        """The job's own bandwidth cap in bytes per second (0: none)."""
        out = c_uint64(0)
        check(lib.bg_job_get_max_rate(self._h(), byref(out)))
        return out.value

    @max_rate.setter
    def max_rate(self, bytes_per_second: int) -> None:
        check(lib.bg_job_set_max_rate(self._h(), int(bytes_per_second)))

    # ---- notifications ----------------------------------------------------------------------

    def set_callbacks(
        self,
        on_transferred: Optional[Callable[["Job"], Any]] = None,
        on_error: Optional[Callable[["Job", JobError], Any]] = None,
        on_modification: Optional[Callable[["Job"], Any]] = None,
        on_file_transferred: Optional[Callable[["Job", int], Any]] = None,
    ) -> None:
        """Sets this process's callbacks for the job, replacing earlier ones; with no argument
        it removes them. They run on the library's dispatcher thread, one at a time, in event
        order; which events fire depends on :attr:`notify_flags` (default: TRANSFERRED and
        ERROR; add ``NotifyFlags.JOB_MODIFICATION`` / ``FILE_TRANSFERRED`` for the others).
        The ``job`` passed in is valid during the call only; exceptions go to
        ``bgcopy.callback_exception_handler``. A callback may call any bgcopy method."""
        from ._callbacks import Callbacks, set_callbacks

        set_callbacks(self._manager, self._h(), self._id,
                      Callbacks(on_transferred, on_error, on_modification, on_file_transferred))

    def clear_callbacks(self) -> None:
        """Removes this process's callbacks for the job."""
        from ._callbacks import set_callbacks

        set_callbacks(self._manager, self._h(), self._id, None)

    @property
    def callbacks(self) -> Optional["Callbacks"]:
        """The callbacks this process set for the job (any handle), or None."""
        from ._callbacks import get_callbacks

        return get_callbacks(self._h())

    @property
    def minimum_notification_interval(self) -> int:
        """Milliseconds between two modification callbacks at least (default 500; 0: all)."""
        return self._get_u32(lib.bg_job_get_minimum_notification_interval)

    @minimum_notification_interval.setter
    def minimum_notification_interval(self, ms: int) -> None:
        check(lib.bg_job_set_minimum_notification_interval(self._h(), ms))

    @property
    def notify_cmd_line(self) -> Optional[str]:
        """The program run on TRANSFERRED/ERROR when no callback takes the event, or None."""
        text, hr = _read_string(lib.bg_job_get_notify_cmd_line, self._h())
        return None if hr == C.S_FALSE or not text else text

    def set_notify_cmd_line(self, program: Optional[PathLike],
                            args: Iterable[PathLike] = ()) -> None:
        """Sets the command run when the job reaches TRANSFERRED or ERROR and no callback takes
        the event: ``program`` (an absolute path, run directly, never through a shell) with
        ``args`` as argv[1:]. ``None`` removes it. Stored with the job (persistent)."""
        if program is None:
            check(lib.bg_job_set_notify_cmd_line(self._h(), None, None, 0))
            return
        encoded = [cstr(a, "argument") for a in args]
        argv = (ctypes.c_char_p * max(1, len(encoded)))(*encoded)
        check(lib.bg_job_set_notify_cmd_line(self._h(), cstr(program, "program"),
                                             argv if encoded else None, len(encoded)))
