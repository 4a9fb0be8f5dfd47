"""Manager and Job objects without transfers: properties, GUIDs, life cycle, handles."""
from __future__ import annotations

import gc
import uuid

import pytest

import bgcopy
from bgcopy import JobState, Priority


def test_version_and_library():
    assert bgcopy.version() == bgcopy.HEADER_VERSION
    assert bgcopy.library_path().endswith(("libbgcopy.so", "libbgcopy.dylib"))


def test_hresult_helpers():
    assert bgcopy.succeeded(bgcopy.S_OK) and bgcopy.succeeded(bgcopy.BG_S_PARTIAL_COMPLETE)
    assert bgcopy.failed(bgcopy.E_HANDLE)
    assert bgcopy.hresult_name(bgcopy.BG_E_NOT_FOUND) == "BG_E_NOT_FOUND"
    assert bgcopy.hresult_name(0x80200001) == "BG_E_NOT_FOUND"  # unsigned spelling works too
    assert "not found" in bgcopy.hresult_message(bgcopy.BG_E_NOT_FOUND).lower()
    err = bgcopy.error_from_hresult(bgcopy.BG_E_HTTP_ERROR_404)
    assert isinstance(err, bgcopy.HttpError) and err.status == 404
    assert err.hresult_hex == "0x80190194"
    assert "0x80190194" in str(err) and err.message in str(err)
    assert type(bgcopy.error_from_hresult(bgcopy.E_FAIL)) is bgcopy.BgcopyError


def test_exception_hierarchy():
    assert issubclass(bgcopy.StringTooLongError, bgcopy.InvalidArgumentError)
    assert issubclass(bgcopy.InvalidArgumentError, ValueError)
    assert issubclass(bgcopy.NotFoundError, LookupError)
    for cls in (bgcopy.InvalidStateError, bgcopy.NotFoundError, bgcopy.InvalidArgumentError,
                bgcopy.InvalidHandleError, bgcopy.HttpError, bgcopy.EmptyJobError,
                bgcopy.StringTooLongError, bgcopy.NotSupportedError):
        assert issubclass(cls, bgcopy.BgcopyError)


def test_exceptions_pickle():
    import pickle

    err = bgcopy.error_from_hresult(bgcopy.BG_E_HTTP_ERROR_503, "detail")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is bgcopy.HttpError and back.status == 503 and back.detail == "detail"


def test_manager_context_and_close_idempotent():
    with bgcopy.Manager(":memory:") as m:
        assert not m.closed and m.handle != 0
    assert m.closed
    m.close()  # again: no error
    with pytest.raises(bgcopy.InvalidHandleError):
        m.create_job("after close")


def test_create_job_defaults(manager):
    with manager.create_job("defaults") as job:
        assert isinstance(job.id, uuid.UUID)
        assert job.guid == str(job.id)
        assert job.state is JobState.SUSPENDED
        assert job.type is bgcopy.JobType.DOWNLOAD
        assert job.priority is Priority.NORMAL
        assert job.display_name == "defaults"
        assert job.description == ""
        assert job.minimum_retry_delay == 600
        assert job.no_progress_timeout == 1_209_600
        assert job.maximum_download_time == 7_776_000
        assert job.notify_flags == bgcopy.NotifyFlags.JOB_TRANSFERRED | bgcopy.NotifyFlags.JOB_ERROR
        assert job.security_flags == 0
        assert job.error is None and job.error_count == 0
        assert job.files == [] and job.file_count == 0
        p = job.progress
        assert (p.bytes_total, p.bytes_transferred, p.files_total, p.files_transferred) == (0, 0, 0, 0)
        t = job.times
        assert t.creation_time is not None and t.transfer_completion_time is None
    assert job.closed


def test_properties_round_trip(manager):
    with manager.create_job("props") as job:
        job.display_name = "renamed ✓"
        assert job.display_name == "renamed ✓"
        job.description = "d" * 1000
        assert job.description == "d" * 1000  # longer than the first buffer: grows
        for pr in Priority:
            job.priority = pr
            assert job.priority is pr
        job.minimum_retry_delay = 7
        job.no_progress_timeout = 0
        job.maximum_download_time = 0
        job.notify_flags = bgcopy.NotifyFlags.JOB_MODIFICATION
        job.security_flags = bgcopy.SecurityFlags.REDIRECT_POLICY_DISALLOW
        assert (job.minimum_retry_delay, job.no_progress_timeout, job.maximum_download_time) == (7, 0, 0)
        assert job.notify_flags == bgcopy.BG_NOTIFY_JOB_MODIFICATION
        assert job.security_flags == bgcopy.BG_HTTP_REDIRECT_POLICY_DISALLOW


def test_guid_text_matches_the_library(manager):
    import ctypes

    from bgcopy._lib import BgGuid, lib

    with manager.create_job("guid") as job:
        g = bgcopy.parse_guid(job.id)
        buf = ctypes.create_string_buffer(37)
        needed = ctypes.c_size_t()
        bgcopy.check(lib.bg_guid_to_string(ctypes.byref(g), buf, 37, ctypes.byref(needed)))
        assert buf.value.decode() == str(job.id)
        # text in either case and in braces finds the same job
        for text in (str(job.id), str(job.id).upper(), "{%s}" % job.id):
            with manager.get_job(text) as again:
                assert again == job and again.handle != job.handle
        with manager.get_job(job.id.bytes) as again:
            assert again.id == job.id
        assert isinstance(g, BgGuid)


def test_jobs_listing_and_find(manager):
    a = manager.create_job("a")
    b = manager.create_job("b")
    c = manager.create_job("a")
    assert manager.job_ids() == [a.id, b.id, c.id]  # oldest first
    assert [j.id for j in manager.jobs()] == [a.id, b.id, c.id]
    assert [j.id for j in manager.find_jobs("a")] == [a.id, c.id]
    b.cancel()
    assert manager.job_ids() == [a.id, c.id]
    with pytest.raises(bgcopy.NotFoundError):
        manager.get_job(b.id)


def test_options(manager):
    opt = bgcopy.Option.MAX_BACKGROUND_TRANSFERS
    assert manager.get_option(opt) == 4
    manager.set_option(opt, 2)
    assert manager.get_option(opt) == 2
    assert manager.get_option(bgcopy.Option.RETRY_DELAY_FLOOR_MS) == 0  # set by the fixture


def test_release_never_cancels(manager):
    job = manager.create_job("kept")
    guid = job.id
    job.close()
    job.close()  # idempotent
    with pytest.raises(bgcopy.InvalidHandleError):
        _ = job.state
    with manager.get_job(guid) as again:
        assert again.state is JobState.SUSPENDED


def test_del_is_safe_after_close_and_after_manager_close():
    m = bgcopy.Manager(":memory:")
    j1 = m.create_job("one")
    j2 = m.create_job("two")
    j1.close()
    m.close()  # invalidates j2's handle in the library
    with pytest.raises(bgcopy.InvalidHandleError):
        _ = j2.state
    j2.close()  # E_HANDLE from the library is ignored on close
    del j1, j2, m
    gc.collect()


def test_del_releases_handles():
    from bgcopy._lib import lib

    m = bgcopy.Manager(":memory:")
    job = m.create_job("gc")
    handle = job.handle
    del job
    gc.collect()
    state = __import__("ctypes").c_int32()
    assert lib.bg_job_get_state(handle, __import__("ctypes").byref(state)) == bgcopy.E_HANDLE
    m_handle = m.handle
    del m
    gc.collect()
    assert lib.bg_manager_close(m_handle) == bgcopy.E_HANDLE


def test_state_dir_manager(tmp_path):
    d = tmp_path / "state"
    with bgcopy.Manager(d) as m:  # created when missing
        assert m.state_dir == str(d)
        with m.create_job("in a directory") as job:
            assert job.state is JobState.SUSPENDED
    assert d.is_dir()
