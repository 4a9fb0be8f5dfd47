"""bgcopy: BITS-style background download jobs (Python binding of libbgcopy over ctypes).

>>> import bgcopy
>>> with bgcopy.Manager(":memory:") as m, m.create_job("example") as job:
...     job.add_file("https://example.org/big.iso", "/tmp/big.iso")
...     job.resume()
...     if job.wait() == bgcopy.JobState.TRANSFERRED:
...         job.complete()
...     else:
...         job.raise_for_error()

Every integer constant of ``include/bgcopy.h`` is available under its C name
(``bgcopy.BG_E_NOT_FOUND``, ``bgcopy.BG_JOB_STATE_ERROR``, ...).
"""
from __future__ import annotations

from ._constants import *  # noqa: F401,F403 - every header constant, by its C name
from ._constants import BGCOPY_VERSION_STRING as HEADER_VERSION
from ._core import (
    MEMORY,
    SIZE_UNKNOWN,
    FileInfo,
    GuidLike,
    Job,
    JobError,
    JobProgress,
    JobTimes,
    Manager,
    parse_guid,
    version,
)
from ._callbacks import Callbacks, registered_count
from ._lib import library_path
from . import _callbacks
from .enums import (
    CompleteResult,
    ErrorContext,
    JobState,
    JobType,
    NotifyFlags,
    Option,
    Priority,
    SecurityFlags,
)
from .errors import (
    BgcopyError,
    EmptyJobError,
    HttpError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidStateError,
    NotFoundError,
    NotSupportedError,
    StringTooLongError,
    check,
    error_from_hresult,
    failed,
    hresult_message,
    hresult_name,
    succeeded,
)

__version__ = HEADER_VERSION

__all__ = [
    "Manager",
    "Job",
    "JobProgress",
    "FileInfo",
    "JobTimes",
    "JobError",
    "GuidLike",
    "JobState",
    "JobType",
    "Priority",
    "ErrorContext",
    "CompleteResult",
    "Option",
    "NotifyFlags",
    "SecurityFlags",
    "BgcopyError",
    "InvalidStateError",
    "NotFoundError",
    "InvalidArgumentError",
    "StringTooLongError",
    "InvalidHandleError",
    "HttpError",
    "EmptyJobError",
    "NotSupportedError",
    "check",
    "error_from_hresult",
    "hresult_message",
    "hresult_name",
    "succeeded",
    "failed",
    "version",
    "library_path",
    "parse_guid",
    "MEMORY",
    "SIZE_UNKNOWN",
    "HEADER_VERSION",
    "Callbacks",
    "registered_count",
    "set_callback_exception_handler",
]


def set_callback_exception_handler(handler) -> None:
    """Sets the function that receives exceptions raised by job callbacks (they never reach
    the library). The default prints them to stderr with their traceback."""
    _callbacks.callback_exception_handler = handler
