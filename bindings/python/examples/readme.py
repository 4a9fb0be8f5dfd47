"""The README's Python example: copy a file through a bgcopy job and check it."""
import os
import tempfile

import bgcopy

work = tempfile.mkdtemp(prefix="bgcopy-readme-")
src, dst = os.path.join(work, "source.bin"), os.path.join(work, "copy.bin")
with open(src, "wb") as f:
    f.write(os.urandom(4 << 20))

with bgcopy.Manager(os.path.join(work, "state")) as m:   # a state directory of its own
    with m.create_job("readme") as job:
        job.add_file("file://" + src, dst)                 # http(s):// works the same way
        job.resume()                                       # returns at once
        state = job.wait(timeout=60)
        print("state:", state.name)
        if state is bgcopy.JobState.TRANSFERRED:
            print("complete:", job.complete().name)

with open(src, "rb") as a, open(dst, "rb") as b:
    print("identical:", a.read() == b.read())
