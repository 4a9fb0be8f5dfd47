"""Transfers against the loopback test server and file:// sources."""
from __future__ import annotations

import os
import time

import pytest

import bgcopy
from bgcopy import CompleteResult, JobState

from conftest import leftover_temp_files, wait_until

MiB = 1024 * 1024


def test_http_download_is_byte_identical(manager, server, tmp_path):
    dest = tmp_path / "one.bin"
    url = server.url("/data/3m/full?seed=7&t=full")
    with manager.create_job("full download") as job:
        job.add_file(url, dest)
        assert job.files[0].remote_name == url
        assert job.files[0].local_name == str(dest)
        job.resume()
        assert job.wait(timeout=60) is JobState.TRANSFERRED
        p = job.progress
        assert (p.bytes_total, p.bytes_transferred) == (3 * MiB, 3 * MiB)
        assert (p.files_total, p.files_transferred) == (1, 1)
        assert p.fraction == 1.0
        assert job.times.transfer_completion_time is not None
        assert not dest.exists()  # invisible under its final name until Complete
        assert job.complete() is CompleteResult.OK
        assert job.state is JobState.ACKNOWLEDGED
        f = job.files[0]
        assert f.completed and f.temp_name is None and f.bytes_total == 3 * MiB
    server.verify(dest, 3 * MiB, seed=7)
    assert dest.read_bytes() == server.content(3 * MiB, seed=7)
    assert leftover_temp_files(tmp_path) == []


def test_several_files_in_order(manager, server, tmp_path):
    sizes = [0, 1, 1000, 256 * 1024]
    with manager.create_job("several") as job:
        for i, size in enumerate(sizes):
            job.add_file(server.url(f"/data/{size}/f{i}?seed={i}"), tmp_path / f"f{i}")
        job.resume()
        assert job.wait(60) is JobState.TRANSFERRED
        assert job.progress.bytes_total == sum(sizes)
        assert job.complete() is CompleteResult.OK
    for i, size in enumerate(sizes):
        server.verify(tmp_path / f"f{i}", size, seed=i)


def test_add_files_is_all_or_nothing_and_transfers_in_order(manager, server, tmp_path):
    n = 100  # 64 files or more: AddFileSet lists the destination directory once
    (tmp_path / "taken").mkdir()
    pairs = [(server.url(f"/data/{300 + i}/set{i}?seed={i}"), tmp_path / f"set{i}") for i in range(n)]
    with manager.create_job("set") as job:
        bad = list(pairs)
        bad[70] = (bad[70][0], tmp_path / "taken")  # a directory
        with pytest.raises(bgcopy.InvalidArgumentError):
            job.add_files(bad)
        assert job.file_count == 0
        job.add_files([])
        assert job.file_count == 0
        job.add_files(pairs)
        assert [f.local_name for f in job.files] == [str(local) for _, local in pairs]
        job.resume()
        assert job.wait(60) is JobState.TRANSFERRED
        assert job.complete() is CompleteResult.OK
    for i in range(n):
        server.verify(tmp_path / f"set{i}", 300 + i, seed=i)
    assert leftover_temp_files(tmp_path) == []


def test_file_url_copy(manager, tmp_path):
    src = tmp_path / "source.bin"
    data = os.urandom(2 * MiB + 123)
    src.write_bytes(data)
    dest = tmp_path / "copy.bin"
    with manager.create_job("copy") as job:
        job.add_file(src.as_uri(), dest)
        job.resume()
        assert job.wait(60) is JobState.TRANSFERRED
        assert job.complete() is CompleteResult.OK
    assert dest.read_bytes() == data


def test_partial_complete_keeps_finished_files(manager, server, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    with manager.create_job("partial") as job:
        job.priority = bgcopy.Priority.FOREGROUND
        job.add_file(server.url("/data/64k/p1?t=partial"), first)
        # 1 MiB at 64 KiB/s: still in flight when Complete is called
        job.add_file(server.url("/data/1m/p2?trickle=65536&t=partial"), second)
        job.resume()
        wait_until(lambda: job.progress.files_transferred >= 1, what="first file")
        assert job.state in (JobState.CONNECTING, JobState.TRANSFERRING, JobState.QUEUED)
        assert job.complete() is CompleteResult.PARTIAL
        assert job.state is JobState.ACKNOWLEDGED
    server.verify(first, 64 * 1024)
    assert not second.exists()
    assert leftover_temp_files(tmp_path) == []


def test_cancel_deletes_temp_files(manager, server, tmp_path):
    dest = tmp_path / "cancelled.bin"
    with manager.create_job("cancel") as job:
        job.add_file(server.url("/data/4m?trickle=262144&t=cancel"), dest)
        job.resume()
        wait_until(lambda: job.progress.bytes_transferred > 0, what="first bytes")
        temp = job.files[0].temp_name
        assert temp and os.path.exists(temp)
        assert job.cancel() is CompleteResult.OK
        assert job.state is JobState.CANCELLED
        assert not os.path.exists(temp)
        with pytest.raises(bgcopy.InvalidStateError):
            job.complete()
    assert not dest.exists()
    assert leftover_temp_files(tmp_path) == []


def test_suspend_keeps_bytes_and_resume_continues_with_range(manager, server, tmp_path):
    dest = tmp_path / "resumed.bin"
    path = "/data/2m/resumed"
    with manager.create_job("suspend") as job:
        job.add_file(server.url(path + "?trickle=524288&t=suspend"), dest)
        job.resume()
        wait_until(lambda: job.progress.bytes_transferred >= 256 * 1024, what="256 KiB")
        job.suspend()
        assert job.state is JobState.SUSPENDED
        kept = job.progress.bytes_transferred
        assert kept > 0
        temp = job.files[0].temp_name
        assert temp and os.path.getsize(temp) >= kept
        time.sleep(0.3)
        assert job.progress.bytes_transferred == kept  # nothing moves while suspended
        job.resume()
        assert job.wait(60) is JobState.TRANSFERRED
        job.complete()
    server.verify(dest, 2 * MiB)
    ranges = server.stats(path)["ranges"]
    assert ranges and ranges[-1].endswith("-"), ranges  # the second request asked for the rest


def test_http_404_is_a_job_error(manager, server, tmp_path):
    with manager.create_job("not found") as job:
        job.add_file(server.url("/nothing/here"), tmp_path / "x")
        job.resume()
        assert job.wait(60) is JobState.ERROR
        err = job.error
        assert err is not None
        assert err.code == bgcopy.BG_E_HTTP_ERROR_404 and err.name == "BG_E_HTTP_ERROR_404"
        assert err.context is bgcopy.ErrorContext.REMOTE_FILE
        assert err.file_index == 0
        assert err.message == bgcopy.hresult_message(bgcopy.BG_E_HTTP_ERROR_404)
        exc = err.exception()
        assert isinstance(exc, bgcopy.HttpError) and exc.status == 404
        assert exc.hresult == bgcopy.BG_E_HTTP_ERROR_404
        with pytest.raises(bgcopy.HttpError) as ei:
            job.raise_for_error()
        assert ei.value.status == 404
        assert job.error_count >= 1
        assert job.cancel() is CompleteResult.OK


def test_server_error_is_transient_then_succeeds(manager, server, tmp_path):
    dest = tmp_path / "retry.bin"
    with manager.create_job("transient") as job:
        job.minimum_retry_delay = 0  # the manager's floor is 0 in these tests
        job.add_file(server.url("/data/100k?status=503&status_times=1&t=transient"), dest)
        job.resume()
        assert job.wait(60) is JobState.TRANSFERRED
        assert job.error_count >= 1
        job.complete()
    server.verify(dest, 100 * 1024)


def test_wait_timeout_returns_the_current_state(manager, server, tmp_path):
    with manager.create_job("slow") as job:
        job.add_file(server.url("/data/1m?trickle=32768&t=slowwait"), tmp_path / "slow")
        assert job.wait(timeout=0) is JobState.SUSPENDED
        job.resume()
        start = time.monotonic()
        state = job.wait(timeout=0.3)
        elapsed = time.monotonic() - start
        assert state in (JobState.QUEUED, JobState.CONNECTING, JobState.TRANSFERRING)
        assert 0.25 <= elapsed < 5
        job.cancel()
        assert job.wait() is JobState.CANCELLED


def test_files_on_the_served_root(manager, server, tmp_path):
    (server.root_dir / "hello.txt").write_bytes(b"hello, bgcopy\n")
    dest = tmp_path / "hello.txt"
    with manager.create_job("root") as job:
        job.add_file(server.url("/files/hello.txt"), dest)
        job.resume()
        assert job.wait(30) is JobState.TRANSFERRED
        job.complete()
    assert dest.read_bytes() == b"hello, bgcopy\n"
