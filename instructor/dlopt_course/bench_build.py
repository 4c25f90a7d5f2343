"""Build benchmark: cold build, warm rebuild and the chapters' raw execution times.

``dlopt-course bench-build`` copies the course (the files git knows about, as they
are in the working tree; never ``.venv``, ``_build`` or ``.git``) into a temporary folder, so the
developer's ``_build`` is left alone, and there

1. builds the book from nothing (cold: every chapter is executed),
2. builds it again with nothing changed (warm: everything should come from the caches),
3. reads each chapter's execution time from the jupyter-cache database of that build
   (``record.data["execution_seconds"]``, as myst-nb stores it) and, with ``--direct``, also
   executes each chapter once on its own with nbclient.

It prints a table with the ratios cold / sum of execution and warm / cold, and the targets
(on 2 cores: cold <= 120 s, warm <= 15 s) with PASS or MISS. It is a script, not a test: the figures
depend on the machine and its load. The copy still imports ``dlopt`` and ``dlopt_reference`` from
the environment (they are installed in editable mode) and loads the Sphinx extension from its own
``book/_ext``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Targets of the issue, for a machine with 2 cores.
COLD_TARGET_S = 120.0
WARM_TARGET_S = 15.0

#: Never copied: environments, builds, caches, version control.
SKIP_NAMES = {".venv", "_build", ".git", "__pycache__", ".pytest_cache", ".hypothesis",
              ".ipynb_checkpoints", ".jupyter_cache"}


def log(message: str) -> None:
    print(f"[bench-build {time.strftime('%H:%M:%S')}] {message}", flush=True)


def course_files(course_root: Path) -> list[Path] | None:
    """The course's files relative to ``course_root`` as git sees them (tracked and untracked but not
    ignored), or ``None`` if ``course_root`` is not a git checkout."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=course_root, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    files = [Path(name) for name in out.decode().split("\0") if name]
    return [f for f in files if not SKIP_NAMES.intersection(f.parts)]


def copy_course(course_root: Path, target: Path) -> Path:
    """Copy the course into ``target`` (created) and return it."""
    course_root = Path(course_root)
    files = course_files(course_root)
    if files is None:
        shutil.copytree(course_root, target, ignore=shutil.ignore_patterns(*SKIP_NAMES, "*.egg-info"))
        return target
    target.mkdir(parents=True, exist_ok=True)
    for rel in files:
        source = course_root / rel
        if source.is_file():  # deleted but not yet staged files are listed too
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    return target


def execution_times(cache_path: Path) -> dict[str, float]:
    """``{notebook stem: execution seconds}`` from a jupyter-cache database (myst-nb's ``cache`` mode).

    If a notebook was cached more than once, its latest record wins.
    """
    from jupyter_cache import get_cache

    times: dict[str, float] = {}
    records = sorted(get_cache(str(cache_path)).list_cache_records(), key=lambda r: (r.created, r.pk))
    for record in records:
        seconds = (record.data or {}).get("execution_seconds")
        if seconds is not None:
            times[Path(record.uri).stem] = float(seconds)
    return dict(sorted(times.items()))


def direct_execution_times(course_root: Path, stems: list[str], timeout: int = 300) -> dict[str, float]:
    """Execute each chapter ``book/<stem>.md`` once with nbclient (after jupytext), timed."""
    import jupytext
    from nbclient import NotebookClient

    times = {}
    for stem in stems:
        source = Path(course_root) / "book" / f"{stem}.md"
        nb = jupytext.read(source)
        kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
        log(f"executing {source.name} with nbclient ...")
        start = time.perf_counter()
        NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                       resources={"metadata": {"path": str(source.parent)}}).execute()
        times[stem] = time.perf_counter() - start
        log(f"  {source.name}: {times[stem]:.1f} s")
    return times


def timed_build(course_root: Path, *, strict: bool, label: str) -> tuple[float, int]:
    """Run ``dlopt-course build-book`` on ``course_root``; return (seconds, exit code)."""
    command = [sys.executable, "-m", "dlopt_course", "--root", str(course_root), "build-book"]
    if not strict:
        command.append("--no-strict")
    log(f"{label} build: {' '.join(command)}")
    log_file = course_root.parent / f"{label}-build.log"
    start = time.perf_counter()
    with open(log_file, "w") as out:
        code = subprocess.call(command, cwd=course_root, stdout=out, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    log(f"{label} build: {seconds:.1f} s, exit code {code} (log: {log_file})")
    if code != 0:
        print(log_file.read_text()[-3000:], flush=True)
    return seconds, code


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def report(cold: float, warm: float, cache_times: dict[str, float],
           direct_times: dict[str, float] | None = None) -> str:
    """The table of the benchmark, as text."""
    lines = [f"{'chapter':<28}{'exec (cache) s':>16}" + (f"{'exec (nbclient) s':>20}" if direct_times else "")]
    for stem in sorted(set(cache_times) | set(direct_times or {})):
        cached = cache_times.get(stem)
        row = f"{stem:<28}{(f'{cached:.1f}' if cached is not None else '-'):>16}"
        if direct_times:
            direct = direct_times.get(stem)
            row += f"{(f'{direct:.1f}' if direct is not None else '-'):>20}"
        lines.append(row)
    total = sum(cache_times.values())
    lines.append(f"{'sum of execution':<28}{total:>16.1f}"
                 + (f"{sum(direct_times.values()):>20.1f}" if direct_times else ""))
    lines += [
        "",
        f"cold build                  {cold:8.1f} s   target <= {COLD_TARGET_S:.0f} s  {verdict(cold, COLD_TARGET_S)}",
        f"warm rebuild                {warm:8.1f} s   target <= {WARM_TARGET_S:.0f} s  {verdict(warm, WARM_TARGET_S)}",
        f"sum of execution (cache)    {total:8.1f} s",
        f"cold / sum of execution     {cold / total if total else float('nan'):8.2f}",
        f"warm / cold                 {warm / cold if cold else float('nan'):8.2f}",
        f"(cores: {os.cpu_count()}, load average: {', '.join(f'{x:.1f}' for x in os.getloadavg())})",
    ]
    return "\n".join(lines)


def bench_build(course_root: Path, *, strict: bool = True, direct: bool = False, keep: bool = False) -> int:
    """Run the benchmark on a copy of ``course_root``; print the table; return 0 if both builds succeeded."""
    # As CI: one BLAS thread per process (the notebook kernels must not oversubscribe the cores).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    workdir = Path(tempfile.mkdtemp(prefix="dlopt-bench-"))
    try:
        copy = copy_course(Path(course_root), workdir / "course")
        log(f"copied the course to {copy}")
        cold, cold_code = timed_build(copy, strict=strict, label="cold")
        warm, warm_code = timed_build(copy, strict=strict, label="warm")
        cache_times = execution_times(copy / "_build" / ".jupyter_cache")
        log(f"read {len(cache_times)} execution times from the jupyter-cache of the build")
        direct_times = direct_execution_times(copy, list(cache_times)) if direct else None
        print(report(cold, warm, cache_times, direct_times), flush=True)
        if cold_code or warm_code:
            print(f"a build failed (cold: exit {cold_code}, warm: exit {warm_code}): the times are not valid")
            return 1
        return 0
    finally:
        if keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
