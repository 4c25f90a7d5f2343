"""The ``bench-build`` command exists, and its reader of execution times parses a jupyter-cache.

No build here: the benchmark itself is a script (README, "Build speed"), not a timed test.
"""

from __future__ import annotations

import nbformat
import pytest
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

from dlopt_course.cli import main
from dlopt_course.bench_build import execution_times, report


def test_bench_build_is_a_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench-build", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "bench-build" in help_text and "--direct" in help_text


def executed_notebook(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(source, execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ok\n")]
    nb.cells.append(cell)
    return nb


def test_execution_times_are_read_from_a_jupyter_cache(tmp_path):
    cache = get_cache(str(tmp_path / ".jupyter_cache"))
    for name, code, seconds in [("01_sgd", "print('a')", 2.5), ("02_momentum", "print('b')", 4.0)]:
        bundle = CacheBundleIn(executed_notebook(code), str(tmp_path / "book" / f"{name}.md"),
                               data={"execution_seconds": seconds})
        cache.cache_notebook_bundle(bundle, check_validity=False)

    times = execution_times(tmp_path / ".jupyter_cache")

    assert times == {"01_sgd": 2.5, "02_momentum": 4.0}
    table = report(cold=60.0, warm=5.0, cache_times=times)
    assert "sum of execution" in table and "6.5" in table
    assert "PASS" in table and "MISS" not in table
