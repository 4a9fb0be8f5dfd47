"""The header's enumerations as :class:`enum.IntEnum` (values equal to the C constants)."""
from __future__ import annotations

import enum

from . import _constants as C

__all__ = [
    "JobState",
    "JobType",
    "Priority",
    "ErrorContext",
    "CompleteResult",
    "Option",
    "NotifyFlags",
    "SecurityFlags",
]


class JobState(enum.IntEnum):
    """``BG_JOB_STATE_*``."""

    QUEUED = C.BG_JOB_STATE_QUEUED
    CONNECTING = C.BG_JOB_STATE_CONNECTING
    TRANSFERRING = C.BG_JOB_STATE_TRANSFERRING
    SUSPENDED = C.BG_JOB_STATE_SUSPENDED
    ERROR = C.BG_JOB_STATE_ERROR
    TRANSIENT_ERROR = C.BG_JOB_STATE_TRANSIENT_ERROR
    TRANSFERRED = C.BG_JOB_STATE_TRANSFERRED
    ACKNOWLEDGED = C.BG_JOB_STATE_ACKNOWLEDGED
    CANCELLED = C.BG_JOB_STATE_CANCELLED

    @property
    def is_final(self) -> bool:
        """ACKNOWLEDGED or CANCELLED: nothing more can happen to the job."""
        return self in (JobState.ACKNOWLEDGED, JobState.CANCELLED)

    @property
    def is_settled(self) -> bool:
        """The states :meth:`bgcopy.Job.wait` returns on: TRANSFERRED, ERROR or final."""
        return self in (JobState.TRANSFERRED, JobState.ERROR) or self.is_final

    @property
    def is_active(self) -> bool:
        """QUEUED, CONNECTING or TRANSFERRING."""
        return self in (JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING)


class JobType(enum.IntEnum):
    """``BG_JOB_TYPE_*`` (only DOWNLOAD is supported by this version of the library)."""

    DOWNLOAD = C.BG_JOB_TYPE_DOWNLOAD
    UPLOAD = C.BG_JOB_TYPE_UPLOAD
    UPLOAD_REPLY = C.BG_JOB_TYPE_UPLOAD_REPLY


class Priority(enum.IntEnum):
    """``BG_JOB_PRIORITY_*`` (FOREGROUND is the highest)."""

    FOREGROUND = C.BG_JOB_PRIORITY_FOREGROUND
    HIGH = C.BG_JOB_PRIORITY_HIGH
    NORMAL = C.BG_JOB_PRIORITY_NORMAL
    LOW = C.BG_JOB_PRIORITY_LOW


class ErrorContext(enum.IntEnum):
    """``BG_ERROR_CONTEXT_*``: where a job error arose."""

    NONE = C.BG_ERROR_CONTEXT_NONE
    UNKNOWN = C.BG_ERROR_CONTEXT_UNKNOWN
    GENERAL_QUEUE_MANAGER = C.BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER
    QUEUE_MANAGER_NOTIFICATION = C.BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION
    LOCAL_FILE = C.BG_ERROR_CONTEXT_LOCAL_FILE
    REMOTE_FILE = C.BG_ERROR_CONTEXT_REMOTE_FILE
    GENERAL_TRANSPORT = C.BG_ERROR_CONTEXT_GENERAL_TRANSPORT
    REMOTE_APPLICATION = C.BG_ERROR_CONTEXT_REMOTE_APPLICATION
    SERVER_CERTIFICATE_CALLBACK = C.BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK


class CompleteResult(enum.IntEnum):
    """What :meth:`bgcopy.Job.complete` (and :meth:`~bgcopy.Job.cancel`) achieved."""

    #: ``S_OK``: every file was kept (Cancel: every temp file deleted).
    OK = C.S_OK
    #: ``BG_S_PARTIAL_COMPLETE``: only the fully transferred files were kept.
    PARTIAL = C.BG_S_PARTIAL_COMPLETE
    #: ``BG_S_UNABLE_TO_DELETE_FILES``: done, but some temp files could not be deleted.
    UNABLE_TO_DELETE = C.BG_S_UNABLE_TO_DELETE_FILES


class Option(enum.IntEnum):
    """``BG_OPTION_*``: manager options (see :meth:`bgcopy.Manager.set_option`)."""

    MAX_BACKGROUND_TRANSFERS = C.BG_OPTION_MAX_BACKGROUND_TRANSFERS
    MAX_CONNECTIONS_PER_HOST = C.BG_OPTION_MAX_CONNECTIONS_PER_HOST
    BACKGROUND_RATE_LIMIT_BPS = C.BG_OPTION_BACKGROUND_RATE_LIMIT_BPS
    FOREGROUND_YIELD_PERCENT = C.BG_OPTION_FOREGROUND_YIELD_PERCENT
    TIME_SLICE_MS = C.BG_OPTION_TIME_SLICE_MS
    STALL_TIMEOUT_MS = C.BG_OPTION_STALL_TIMEOUT_MS
    RETRY_DELAY_FLOOR_MS = C.BG_OPTION_RETRY_DELAY_FLOOR_MS
    INACTIVITY_TIMEOUT_S = C.BG_OPTION_INACTIVITY_TIMEOUT_S
    RATE_LIMIT_WINDOW_START_MIN = C.BG_OPTION_RATE_LIMIT_WINDOW_START_MIN
    RATE_LIMIT_WINDOW_END_MIN = C.BG_OPTION_RATE_LIMIT_WINDOW_END_MIN


class NotifyFlags(enum.IntFlag):
    """``BG_NOTIFY_*``."""

    JOB_TRANSFERRED = C.BG_NOTIFY_JOB_TRANSFERRED
    JOB_ERROR = C.BG_NOTIFY_JOB_ERROR
    DISABLE = C.BG_NOTIFY_DISABLE
    JOB_MODIFICATION = C.BG_NOTIFY_JOB_MODIFICATION
    FILE_TRANSFERRED = C.BG_NOTIFY_FILE_TRANSFERRED


class SecurityFlags(enum.IntFlag):
    """``BG_SSL_*`` and ``BG_HTTP_REDIRECT_POLICY_*`` (see :attr:`bgcopy.Job.security_flags`)."""

    REDIRECT_POLICY_ALLOW_SILENT = C.BG_HTTP_REDIRECT_POLICY_ALLOW_SILENT
    SSL_IGNORE_CERT_CN_INVALID = C.BG_SSL_IGNORE_CERT_CN_INVALID
    SSL_IGNORE_UNKNOWN_CA = C.BG_SSL_IGNORE_UNKNOWN_CA
    REDIRECT_POLICY_ALLOW_REPORT = C.BG_HTTP_REDIRECT_POLICY_ALLOW_REPORT
    REDIRECT_POLICY_DISALLOW = C.BG_HTTP_REDIRECT_POLICY_DISALLOW
    REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP = C.BG_HTTP_REDIRECT_POLICY_ALLOW_HTTPS_TO_HTTP
