"""``bench-outcomes`` prints, per outcome task, the seconds its hidden check took and the points it gave.

No time is asserted (the figures are for reading); the points of the model answer are: full marks.
"""

from __future__ import annotations

import re
import subprocess
import sys


def test_bench_outcomes_prints_a_time_and_full_points_per_task(course_root):
    done = subprocess.run([sys.executable, "-m", "dlopt_course", "--root", str(course_root),
                           "bench-outcomes", "06_batchnorm", "08_ensembles"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = re.findall(r"^(\S+)\s+(\w+)\s+(\d+\.\d\d)\s+(\S+) / (\S+)\s*$", done.stdout, re.M)
    assert [(a, task) for a, task, *_ in rows] == [("06_batchnorm", "fold_batchnorm"),
                                                    ("08_ensembles", "select_ensemble")], done.stdout
    assert all(earned == points and float(points) > 0 for *_, earned, points in rows), done.stdout
