"""Callbacks (bg_job_set_callbacks), the notify command line and other notification settings."""
from __future__ import annotations

import shutil
import threading

import pytest

import bgcopy
from bgcopy import JobState, NotifyFlags

from conftest import wait_until

ALL_EVENTS = (NotifyFlags.JOB_TRANSFERRED | NotifyFlags.JOB_ERROR
              | NotifyFlags.JOB_MODIFICATION | NotifyFlags.FILE_TRANSFERRED)


def test_transferred_file_and_modification_callbacks(manager, server, tmp_path):
    events: list = []
    done = threading.Event()
    seen_ids: list = []
    lent: list = []

    def on_transferred(job):
        seen_ids.append(job.id)
        events.append(("transferred", job.state))
        lent.append(job)
        done.set()

    def on_file(job, index):
        events.append(("file", index))

    def on_mod(job):
        events.append(("mod", None))

    with manager.create_job("callbacks") as job:
        job.notify_flags = ALL_EVENTS
        job.minimum_notification_interval = 0
        for i in range(3):
            job.add_file(server.url(f"/data/{32 + i}k/cb{i}"), tmp_path / f"cb{i}")
        job.set_callbacks(on_transferred=on_transferred, on_file_transferred=on_file,
                          on_modification=on_mod)
        cbs = job.callbacks
        assert cbs is not None and cbs.on_transferred is on_transferred
        job.resume()
        assert done.wait(30), events
        assert job.wait(10) is JobState.TRANSFERRED
        files = [i for kind, i in events if kind == "file"]
        assert files == [0, 1, 2]
        assert ("transferred", JobState.TRANSFERRED) in events
        assert any(kind == "mod" for kind, _ in events)
        assert seen_ids == [job.id]
        # the handle lent to the callback is not usable after it returned
        with pytest.raises(bgcopy.InvalidHandleError):
            _ = lent[0].state
        job.clear_callbacks()
        assert job.callbacks is None
        job.complete()
    wait_until(lambda: bgcopy.registered_count() == 0, what="user_data_free")


def test_error_callback_on_404(manager, server, tmp_path):
    got: list = []
    done = threading.Event()

    def on_error(job, error):
        got.append((error, job.state))
        done.set()

    with manager.create_job("callback error") as job:
        job.add_file(server.url("/missing/cb"), tmp_path / "x")
        job.set_callbacks(on_error=on_error)
        job.resume()
        assert done.wait(30)
        error, state = got[0]
        assert state is JobState.ERROR
        assert error.code == bgcopy.BG_E_HTTP_ERROR_404
        assert error.context is bgcopy.ErrorContext.REMOTE_FILE
        assert error.file_index == 0
        exc = error.exception()
        assert isinstance(exc, bgcopy.HttpError) and exc.status == 404
        job.cancel()


def test_callback_may_call_the_library(manager, server, tmp_path):
    results: list = []
    done = threading.Event()

    def complete_now(job):
        results.append(job.complete())
        done.set()

    dest = tmp_path / "auto"
    with manager.create_job("auto complete") as job:
        job.add_file(server.url("/data/100k/auto"), dest)
        job.set_callbacks(on_transferred=complete_now)
        job.resume()
        assert done.wait(30)
        assert results == [bgcopy.CompleteResult.OK]
        wait_until(lambda: job.state is JobState.ACKNOWLEDGED, what="ACKNOWLEDGED")
    server.verify(dest, 100 * 1024)


def test_exceptions_in_callbacks_go_to_the_handler(manager, server, tmp_path):
    caught: list = []
    done = threading.Event()

    def handler(exc):
        caught.append(exc)
        done.set()

    def boom(job):
        raise RuntimeError("from a callback")

    bgcopy.set_callback_exception_handler(handler)
    try:
        with manager.create_job("raises") as job:
            job.add_file(server.url("/data/1k/raises"), tmp_path / "r")
            job.set_callbacks(on_transferred=boom)
            job.resume()
            assert done.wait(30)
            assert isinstance(caught[0], RuntimeError)
            assert job.wait(10) is JobState.TRANSFERRED  # the library went on
            job.cancel()
    finally:
        from bgcopy import _callbacks

        bgcopy.set_callback_exception_handler(_callbacks._print_exception)


def test_registration_released_when_the_manager_closes(server, tmp_path):
    m = bgcopy.Manager(":memory:")
    job = m.create_job("released")
    job.set_callbacks(on_transferred=lambda j: None)
    assert bgcopy.registered_count() >= 1
    job.close()
    m.close()
    wait_until(lambda: bgcopy.registered_count() == 0, what="user_data_free after close")


def test_notification_settings(manager):
    with manager.create_job("settings") as job:
        assert job.minimum_notification_interval == 500
        job.minimum_notification_interval = 0
        assert job.minimum_notification_interval == 0
        assert job.max_rate == 0
        job.max_rate = 1 << 20
        assert job.max_rate == 1 << 20
        assert job.notify_cmd_line is None
        job.set_notify_cmd_line("/bin/true", ["a", "b c"])
        assert job.notify_cmd_line == "/bin/true"
        job.set_notify_cmd_line(None)
        assert job.notify_cmd_line is None
        with pytest.raises(bgcopy.InvalidArgumentError):
            job.set_notify_cmd_line("relative/program")


@pytest.mark.skipif(shutil.which("touch") is None, reason="no touch(1)")
def test_notify_cmd_line_runs_on_transferred(manager, server, tmp_path):
    marker = tmp_path / "marker"
    with manager.create_job("command") as job:
        job.add_file(server.url("/data/1k/cmd"), tmp_path / "c")
        job.set_notify_cmd_line(shutil.which("touch"), [str(marker)])
        job.resume()
        assert job.wait(30) is JobState.TRANSFERRED
        wait_until(marker.exists, what="the notify command")
        job.complete()
