"""Execute the book's chapters in parallel into the jupyter-cache, before Jupyter Book runs.

Jupyter Book 1 executes notebooks one after another, so a cold build costs the *sum* of the
chapters' run times. Here each chapter that has no cached result runs in its own process, and
its outputs are stored in the cache exactly as myst-nb would store them (same reader, same
content hash: code cells and kernelspec). The build that follows then finds every chapter in the
cache. A chapter that fails here is simply left out: the build runs it again and reports its error.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat
import yaml


def _read_chapter(path: Path):
    """The notebook myst-nb reads from a MyST markdown chapter."""
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(path.read_text(), MdParserConfig(), path=str(path), add_source_map=True)


def executable_chapters(course_root: Path) -> list[Path]:
    """The toc's markdown pages that are notebooks (they have a kernelspec in their front matter)."""
    course_root = Path(course_root)
    toc = yaml.safe_load((course_root / "_toc.yml").read_text())

    def files(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for value in node.values():
                yield from files(value)
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    chapters = []
    for name in [toc["root"], *files(toc.get("parts", toc.get("chapters", [])))]:
        path = course_root / f"{name}.md"
        if path.is_file() and "kernelspec:" in path.read_text().split("\n---", 2)[0]:
            chapters.append(path)
    return chapters


def _execute(path: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Run one chapter in this process; ``(path, executed notebook JSON or None, seconds, error)``."""
    from jupyter_cache.executors.utils import single_nb_execution

    os.environ.pop("MPLBACKEND", None)  # the kernels need matplotlib's inline backend, or figures vanish
    notebook = _read_chapter(Path(path))
    result = single_nb_execution(notebook, cwd=str(Path(path).parent), allow_errors=False, timeout=timeout,
                                 meta_override=True)
    if result.err is not None:
        return path, None, result.time, f"{type(result.err).__name__}: {result.err}"
    return path, nbformat.writes(notebook), result.time, None


def pre_execute(course_root: Path, workers: int | None = None) -> dict[str, float]:
    """Execute the uncached chapters on ``workers`` processes; return ``{chapter: seconds}`` of those run."""
    from jupyter_cache import get_cache
    from jupyter_cache.cache.main import CacheBundleIn

    course_root = Path(course_root)
    config = yaml.safe_load((course_root / "_config.yml").read_text())
    execute = config.get("execute", {})
    if execute.get("execute_notebooks", "cache") != "cache":
        return {}
    cache = get_cache(str(course_root / execute.get("cache", "_build/.jupyter_cache")))
    pending = []
    for path in executable_chapters(course_root):
        try:
            cache.match_cache_notebook(_read_chapter(path))
        except KeyError:
            pending.append(path)
    if not pending:
        return {}
    workers = workers or os.cpu_count() or 1
    print(f"executing {len(pending)} chapter(s) on {workers} processes before the build", flush=True)
    timings = {}
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(workers, len(pending))) as pool:
        futures = [pool.submit(_execute, str(path), int(execute.get("timeout", 300))) for path in pending]
        for future in as_completed(futures):
            path, executed, seconds, error = future.result()
            name = Path(path).relative_to(course_root)
            if error is not None:
                print(f"  {name}: failed after {seconds:.1f} s ({error}); the build will run it again", flush=True)
                continue
            cache.cache_notebook_bundle(
                CacheBundleIn(nbformat.reads(executed, as_version=4), str(Path(path)), data={"execution_seconds": seconds}),
                check_validity=False, overwrite=True,
            )
            timings[str(name)] = seconds
            print(f"  {name}: executed in {seconds:.1f} s", flush=True)
    print(f"pre-executed {len(timings)} chapter(s) in {time.perf_counter() - start:.1f} s", flush=True)
    return timings
