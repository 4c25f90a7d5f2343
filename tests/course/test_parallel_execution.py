"""The parallel pre-execution stores chapters under the hash myst-nb looks up, so the build reuses them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from dlopt_course.execute import _read_chapter, executable_chapters, pre_execute


def test_pre_executed_chapters_are_found_by_the_book_build(tmp_path, course_root):
    """A two-chapter toy book: pre_execute runs both on two processes; jupyter-book executes none."""
    shutil.copy(course_root / "_config.yml", tmp_path / "_config.yml")
    shutil.copytree(course_root / "book" / "_ext", tmp_path / "book" / "_ext")
    shutil.copytree(course_root / "book" / "_static", tmp_path / "book" / "_static")
    shutil.copytree(course_root / "book" / "_root", tmp_path / "book" / "_root")  # html_extra_path
    header = textwrap.dedent("""\
        ---
        jupytext:
          text_representation:
            extension: .md
            format_name: myst
        kernelspec:
          name: python3
          display_name: Python 3
          language: python
        ---
        """)
    (tmp_path / "book" / "intro.md").write_text("# Intro\n\nNo code here.\n")
    for k in (1, 2):
        (tmp_path / "book" / f"c{k}.md").write_text(header + f"# Chapter {k}\n\n```{{code-cell}} ipython3\nprint({k} + 1)\n```\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/intro\nchapters:\n  - file: book/c1\n  - file: book/c2\n")

    assert [p.name for p in executable_chapters(tmp_path)] == ["c1.md", "c2.md"]
    timings = pre_execute(tmp_path, workers=2)
    assert sorted(timings) == ["book/c1.md", "book/c2.md"]
    assert pre_execute(tmp_path, workers=2) == {}  # cached now: nothing runs again

    from jupyter_cache import get_cache

    record = get_cache(str(tmp_path / "_build" / ".jupyter_cache")).match_cache_notebook(_read_chapter(tmp_path / "book" / "c2.md"))
    assert record.data["execution_seconds"] > 0

    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(tmp_path), "-W", "-n", "--keep-going"],
                            cwd=tmp_path, capture_output=True, text=True)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "Executing notebook" not in log
    assert log.count("Using cached notebook") == 2
    assert "3" in (tmp_path / "_build" / "html" / "book" / "c2.html").read_text()
