"""Bad input and bad states become exceptions of the right class, carrying hresult and message."""
from __future__ import annotations

import pytest

import bgcopy


def assert_code(excinfo, code: int) -> None:
    err = excinfo.value
    assert err.hresult == code, f"{err!r}"
    assert err.message == bgcopy.hresult_message(code) and err.message


def test_resume_empty_job(manager):
    with manager.create_job("empty") as job:
        with pytest.raises(bgcopy.EmptyJobError) as ei:
            job.resume()
        assert_code(ei, bgcopy.BG_E_EMPTY)
        assert job.state is bgcopy.JobState.SUSPENDED


@pytest.mark.parametrize("url", [
    "http://",                       # malformed
    "ftp://127.0.0.1/x",             # unsupported scheme
    "relative/path",                 # relative
    "http://127.0.0.1/a b",          # must be percent-encoded
])
def test_bad_urls(manager, tmp_path, url):
    with manager.create_job("bad url") as job:
        with pytest.raises(bgcopy.InvalidArgumentError) as ei:
            job.add_file(url, tmp_path / "out")
        assert_code(ei, bgcopy.E_INVALIDARG)
        assert job.file_count == 0


def test_local_directory_missing(manager, tmp_path):
    with manager.create_job("no dir") as job:
        with pytest.raises(bgcopy.BgcopyError) as ei:
            job.add_file("http://127.0.0.1:1/x", tmp_path / "missing" / "out")
        assert_code(ei, bgcopy.BG_E_WIN32_PATH_NOT_FOUND)


def test_local_path_is_a_directory(manager, tmp_path):
    with manager.create_job("dir") as job:
        with pytest.raises(bgcopy.BgcopyError):
            job.add_file("http://127.0.0.1:1/x", str(tmp_path) + "/")


def test_string_too_long(manager):
    with pytest.raises(bgcopy.StringTooLongError) as ei:
        manager.create_job("x" * 257)
    assert_code(ei, bgcopy.BG_E_STRING_TOO_LONG)
    with manager.create_job("ok") as job:
        with pytest.raises(bgcopy.StringTooLongError):
            job.display_name = "y" * 300
        with pytest.raises(ValueError):  # StringTooLongError is a ValueError too
            job.description = "z" * 2000
        assert job.display_name == "ok"


def test_nul_in_string(manager):
    with pytest.raises(bgcopy.InvalidArgumentError):
        manager.create_job("a\0b")


def test_unknown_priority_and_flags(manager):
    with manager.create_job("enum") as job:
        with pytest.raises(bgcopy.NotSupportedError) as ei:
            job.priority = 99
        assert_code(ei, bgcopy.E_NOTIMPL)
        with pytest.raises(bgcopy.NotSupportedError):
            job.notify_flags = 0x1000
        with pytest.raises(bgcopy.NotSupportedError):
            job.security_flags = 0x1  # CRL checks are not implemented


def test_upload_jobs_not_supported(manager):
    with pytest.raises(bgcopy.NotSupportedError):
        manager.create_job("up", bgcopy.JobType.UPLOAD)


def test_bad_option(manager):
    with pytest.raises(bgcopy.InvalidArgumentError):
        manager.set_option(999, 1)
    with pytest.raises(bgcopy.InvalidArgumentError):
        manager.set_option(bgcopy.Option.MAX_BACKGROUND_TRANSFERS, 0)
    with pytest.raises(bgcopy.InvalidArgumentError):
        manager.get_option(999)


def test_bad_guid(manager):
    with pytest.raises(bgcopy.InvalidArgumentError):
        manager.get_job("not-a-guid")
    with pytest.raises(TypeError):
        manager.get_job(12345)  # type: ignore[arg-type]


def test_bad_state_dir(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory")
    with pytest.raises(bgcopy.BgcopyError) as ei:
        bgcopy.Manager(f)
    assert_code(ei, bgcopy.BG_E_STATE_DIR_INVALID)


def test_operations_after_the_end(manager, tmp_path):
    job = manager.create_job("ended")
    job.add_file("http://127.0.0.1:1/x", tmp_path / "x")
    assert job.cancel() is bgcopy.CompleteResult.OK
    assert job.state is bgcopy.JobState.CANCELLED
    for call in (job.resume, job.suspend, job.cancel, job.complete,
                 lambda: job.add_file("http://127.0.0.1:1/y", tmp_path / "y"),
                 lambda: setattr(job, "display_name", "late")):
        with pytest.raises(bgcopy.InvalidStateError) as ei:
            call()
        assert_code(ei, bgcopy.BG_E_INVALID_STATE)
    with pytest.raises(bgcopy.NotFoundError):
        manager.get_job(job.id)
    job.close()
    with pytest.raises(bgcopy.InvalidHandleError) as ei:
        job.resume()
    assert ei.value.hresult == bgcopy.E_HANDLE
