"""Course tooling for instructors: ``python -m dlopt_reference.course COMMAND``.

Commands (run from the course root, or pass ``--root``):

- ``build-book``   make the student exercise pages and build the HTML book into ``_build/html``
- ``leak-check PATH...``  fail if any file under PATH holds a solution, a hidden test or reference code
- ``bench-build``  time a cold build, a warm rebuild and the chapters' execution, on a copy of the course
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .bench_build import bench_build
from .build_book import build_book
from .leaks import forbidden_markers, scan


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlopt_reference.course", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the course root (default: current folder)")
    commands = parser.add_subparsers(dest="command", required=True)
    book = commands.add_parser("build-book", help="build the student edition of the book")
    book.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    leak = commands.add_parser("leak-check", help="scan files for solutions, hidden tests, reference code")
    leak.add_argument("paths", nargs="+", type=Path)
    bench = commands.add_parser("bench-build", help="time cold and warm builds of the book (on a copy)")
    bench.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    bench.add_argument("--direct", action="store_true", help="also execute each chapter once with nbclient")
    bench.add_argument("--keep", action="store_true", help="keep the temporary copy and its build logs")
    args = parser.parse_args(argv)

    root = args.root.resolve()
    if not (root / "_config.yml").is_file() or not (root / "exercises").is_dir():
        parser.error(f"{root} is not the course root (no _config.yml or exercises/ there); use --root")
    if args.command == "build-book":
        return build_book(root, strict=not args.no_strict)
    if args.command == "bench-build":
        return bench_build(root, strict=not args.no_strict, direct=args.direct, keep=args.keep)
    if args.command == "leak-check":
        leaks = scan(args.paths, forbidden_markers(root))
        for leak in leaks:
            print(leak)
        print(f"leak check: {len(leaks)} leak(s) in {', '.join(map(str, args.paths))}")
        return 1 if leaks else 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
