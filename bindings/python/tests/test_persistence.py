"""Jobs in a state directory outlive the manager (and the process) that created them."""
from __future__ import annotations

import subprocess
import textwrap

import bgcopy
from bgcopy import CompleteResult, JobState

from conftest import PYTHON, leftover_temp_files, python_env, wait_until

MiB = 1024 * 1024


def test_resume_after_reopening_the_manager(server, tmp_path):
    state_dir = tmp_path / "state"
    dest = tmp_path / "survivor.bin"
    path = "/data/2m/reopen"
    with bgcopy.Manager(state_dir) as m:
        with m.create_job("survives a close") as job:
            guid = job.id
            job.add_file(server.url(path + "?trickle=524288&t=reopen"), dest)
            job.resume()
            wait_until(lambda: job.progress.bytes_transferred >= 256 * 1024, what="256 KiB")
            job.suspend()
            kept = job.progress.bytes_transferred
    with bgcopy.Manager(state_dir) as m:
        with m.get_job(guid) as job:
            assert job.display_name == "survives a close"
            assert job.state is JobState.SUSPENDED
            assert job.progress.bytes_transferred == kept
            job.resume()
            assert job.wait(60) is JobState.TRANSFERRED
            assert job.complete() is CompleteResult.OK
    server.verify(dest, 2 * MiB)
    assert server.stats(path)["ranges"], "the reopened job should continue with a Range request"
    assert leftover_temp_files(tmp_path) == []


def test_job_created_by_another_process(server, tmp_path):
    state_dir = tmp_path / "state"
    dest = tmp_path / "child.bin"
    script = textwrap.dedent(f"""
        import bgcopy
        with bgcopy.Manager({str(state_dir)!r}) as m:
            job = m.create_job("made by a child")
            job.add_file({server.url("/data/300k/child?t=child")!r}, {str(dest)!r})
            print(job.id)
    """)
    out = subprocess.run([PYTHON, "-c", script], env=python_env(), capture_output=True,
                         text=True, check=True)
    guid = out.stdout.strip()
    with bgcopy.Manager(state_dir) as m:
        with m.get_job(guid) as job:
            assert [str(g) for g in m.job_ids()] == [guid]
            assert job.display_name == "made by a child"
            assert job.file_count == 1
            job.resume()
            assert job.wait(60) is JobState.TRANSFERRED
            job.complete()
    server.verify(dest, 300 * 1024)
