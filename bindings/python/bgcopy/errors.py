"""Exceptions: every failing ``bg_hresult`` becomes a :class:`BgcopyError` (or a subclass).

>>> try:
...     job.resume()
... except bgcopy.EmptyJobError as e:
...     print(hex(e.hresult & 0xFFFFFFFF), e.message)

The class is chosen by the code (:func:`error_from_hresult`); every instance carries
``.hresult`` (the signed 32-bit code), ``.message`` (``bg_hresult_message``), ``.name`` (the
header's symbolic name, e.g. ``"BG_E_INVALID_STATE"``) and ``.detail`` (extra text, such as a
job's error description).
"""
from __future__ import annotations

from typing import Dict, Optional, Type

from . import _constants as C

__all__ = [
    "BgcopyError",
    "InvalidStateError",
    "NotFoundError",
    "InvalidArgumentError",
    "StringTooLongError",
    "InvalidHandleError",
    "HttpError",
    "EmptyJobError",
    "NotSupportedError",
    "error_from_hresult",
    "check",
    "hresult_message",
    "hresult_name",
    "succeeded",
    "failed",
]


def succeeded(hr: int) -> bool:
    """``BG_SUCCEEDED(hr)``: S_OK, S_FALSE and every BG_S_* code."""
    return hr >= 0


def failed(hr: int) -> bool:
    """``BG_FAILED(hr)``."""
    return hr < 0


def hresult_message(hr: int) -> str:
    """The library's English message for any code (``bg_hresult_message``)."""
    from ._lib import lib

    text = lib.bg_hresult_message(_signed32(hr))
    return text.decode("utf-8", "replace") if text else ""


def hresult_name(hr: int) -> Optional[str]:
    """The header's name of a code (``"BG_E_NOT_FOUND"``), or None for an unknown code."""
    return C.HRESULT_NAMES.get(_signed32(hr))


def _signed32(hr: int) -> int:
    hr &= 0xFFFFFFFF
    return hr - 0x1_0000_0000 if hr & 0x8000_0000 else hr


class BgcopyError(Exception):
    """A bgcopy call failed. ``hresult`` is the code, ``message`` the library's text for it."""

    hresult: int
    message: str
    detail: Optional[str]

    def __init__(self, hresult: int, message: Optional[str] = None, *,
                 detail: Optional[str] = None) -> None:
        self.hresult = _signed32(hresult)
        self.message = message if message is not None else hresult_message(self.hresult)
        self.detail = detail
        super().__init__(str(self))

    @property
    def name(self) -> Optional[str]:
        """The header's symbolic name of the code, e.g. ``"BG_E_INVALID_STATE"``."""
        return hresult_name(self.hresult)

    @property
    def hresult_hex(self) -> str:
        """The code as BITS writes it: ``"0x80200002"``."""
        return f"0x{self.hresult & 0xFFFFFFFF:08X}"

    def __str__(self) -> str:
        text = f"{self.hresult_hex}"
        if self.name:
            text += f" {self.name}"
        text += f": {self.message}"
        if self.detail:
            text += f" ({self.detail})"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.hresult_hex}, {self.message!r})"

    def __reduce__(self):  # picklable (e.g. across multiprocessing)
        return (_rebuild, (type(self), self.hresult, self.message, self.detail))


def _rebuild(cls: Type[BgcopyError], hresult: int, message: str, detail: Optional[str]):
    return cls(hresult, message, detail=detail)


class InvalidStateError(BgcopyError):
    """``BG_E_INVALID_STATE``: not allowed in the job's current state (e.g. after Complete)."""


class NotFoundError(BgcopyError, LookupError):
    """``BG_E_NOT_FOUND``: no job with that GUID, or it has ended."""


class InvalidArgumentError(BgcopyError, ValueError):
    """``E_INVALIDARG`` / ``E_POINTER``: a bad argument (relative path, malformed URL, ...)."""


class StringTooLongError(InvalidArgumentError):
    """``BG_E_STRING_TOO_LONG``: a name, URL or path over its limit."""


class InvalidHandleError(BgcopyError):
    """``E_HANDLE``: the manager or job handle is closed, released or stale."""


class EmptyJobError(BgcopyError):
    """``BG_E_EMPTY``: the job has no files (e.g. Resume on an empty job)."""


class NotSupportedError(BgcopyError, NotImplementedError):
    """``E_NOTIMPL``: a value or operation this version does not support (e.g. upload jobs)."""


class HttpError(BgcopyError):
    """``BG_E_HTTP_ERROR_xxx`` (0x801900xx): the server answered with HTTP status ``status``."""

    @property
    def status(self) -> int:
        """The HTTP status code, e.g. 404."""
        return (self.hresult & 0xFFFFFFFF) - _HTTP_BASE


_HTTP_BASE = 0x80190000

_BY_CODE: Dict[int, Type[BgcopyError]] = {
    C.BG_E_INVALID_STATE: InvalidStateError,
    C.BG_E_NOT_FOUND: NotFoundError,
    C.E_INVALIDARG: InvalidArgumentError,
    C.E_POINTER: InvalidArgumentError,
    C.BG_E_STRING_TOO_LONG: StringTooLongError,
    C.E_HANDLE: InvalidHandleError,
    C.BG_E_EMPTY: EmptyJobError,
    C.E_NOTIMPL: NotSupportedError,
}


def error_class(hr: int) -> Type[BgcopyError]:
    """The exception class for a failure code."""
    hr = _signed32(hr)
    cls = _BY_CODE.get(hr)
    if cls is not None:
        return cls
    if 100 <= (hr & 0xFFFFFFFF) - _HTTP_BASE <= 999:
        return HttpError
    return BgcopyError


def error_from_hresult(hr: int, detail: Optional[str] = None) -> BgcopyError:
    """The exception for a failure code, of the class :func:`error_class` picks."""
    return error_class(hr)(hr, detail=detail)


def check(hr: int, detail: Optional[str] = None) -> int:
    """Returns ``hr`` when it is a success code; raises the matching exception otherwise."""
    if hr < 0:
        raise error_from_hresult(hr, detail)
    return hr
