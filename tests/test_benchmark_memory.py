"""The benchmark's peak memory is sampled from /proc over each measured process tree, and only there:
a grandchild counts (chromium's renderers did, and getrusage missed them), a process the benchmark
ran for another purpose (the warm-up import, the sample's generation) does not."""
from __future__ import annotations

import subprocess
import sys

from benchmarks import run

HOLD = "import time; b = b'x' * ({mb} * 2**20); time.sleep({secs})"


def test_peak_memory_is_the_measured_tree_only(monkeypatch):
    monkeypatch.setattr(run, "_PEAK", {"process": 0, "tree": 0})
    subprocess.run([sys.executable, "-c", HOLD.format(mb=300, secs=0)], check=True)  # not measured
    grandchild = HOLD.format(mb=120, secs=1.5)
    proc = run.sampled([sys.executable, "-c", "import subprocess, sys; "
                        f"subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)"])
    assert proc.returncode == 0, proc.stderr
    peak = run.peak_figures()
    assert 120 <= peak["peak_rss_mb"] < 200, peak  # the grandchild, not the unmeasured 300 MB process
    assert peak["peak_tree_mb"] >= peak["peak_rss_mb"] + 5  # the child's own interpreter on top


def test_sampling_adds_nothing_to_the_measured_time():
    """The sampler wakes when the process ends: a timed run does not wait out a sampling interval
    (it did, up to 0.25 s on each `lsrp validate` of about 1.5 s)."""
    import time

    times = []
    for _ in range(3):
        t = time.perf_counter()
        run.sampled([sys.executable, "-c", "import time; time.sleep(0.3)"])
        times.append(time.perf_counter() - t)
    assert min(times) < 0.3 + 0.15, times  # a 0.25 s poll would end at 0.5 s
