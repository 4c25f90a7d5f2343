"""Read a submission folder as hostile input: only its notebooks, only as regular files, never through a link.

``grade`` never copies a submission folder and never runs anything from it: it reads the bytes of each
``<notebook>.ipynb`` it expects (and ``timestamp.txt``, and the exchange's ``submission_secret.txt``, a hexadecimal
string that names the feedback page) with :func:`read_regular_file`, which refuses

- a path with a symbolic link anywhere below the course's ``submitted/`` folder (a link to the model
  answer, to another student's folder, to the gradebook);
- anything that is not a regular file (a device, a FIFO, a socket, a folder);
- a file with a second hard link (a name for a file that lives elsewhere, e.g. a classmate's notebook);
- a file larger than the limit.

Every other file of the folder is ignored (a ``numpy.py`` beside the notebook is never on any ``sys.path``:
nothing of the folder is), and listed so the instructor can see what was handed in besides.
"""

from __future__ import annotations

import datetime
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

#: The largest notebook ``grade`` reads (a notebook with outputs cleared is a few hundred kB).
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_TIMESTAMP_BYTES = 100
#: nbgrader's exchange puts a random secret beside each submission; the feedback's file name is its hash.
SECRET_NAME = "submission_secret.txt"
MAX_SECRET_BYTES = 1024


class RefusedFile(ValueError):
    """A file of a submission that ``grade`` will not read (the message says why)."""


def read_regular_file(base: Path, relative: str, max_bytes: int) -> bytes:
    """The bytes of ``base/relative``, walked one component at a time without following any link.

    ``base`` is trusted (the course's ``submitted/`` folder); every component below it is opened with
    ``O_NOFOLLOW`` relative to its parent's descriptor, so a link swapped in between the checks is refused
    by the kernel too. Raises :class:`RefusedFile` or ``FileNotFoundError``.
    """
    parts = [part for part in Path(relative).parts if part not in ("", ".")]
    if not parts or ".." in parts:
        raise RefusedFile(f"{relative}: not a path inside the submission")
    directory = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
            except OSError as error:
                if os.path.islink(os.path.join(base, *parts[:parts.index(part) + 1])):
                    raise RefusedFile(f"{part}/ is a symbolic link (refused)") from None
                raise FileNotFoundError(error.errno, error.strerror, part) from None
            os.close(directory)
            directory = inner
        name = parts[-1]
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=directory)
        except OSError as error:
            try:
                info = os.stat(name, dir_fd=directory, follow_symlinks=False)
            except OSError:
                raise FileNotFoundError(error.errno, error.strerror, relative) from None
            if stat.S_ISLNK(info.st_mode):
                raise RefusedFile(f"{relative} is a symbolic link (refused)") from None
            raise RefusedFile(f"{relative} cannot be opened ({error.strerror})") from None
    finally:
        os.close(directory)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RefusedFile(f"{relative} is not a regular file (refused)")
        if info.st_nlink != 1:
            raise RefusedFile(f"{relative} has {info.st_nlink} hard links: it is a name for a file that lives "
                              "elsewhere too (refused)")
        if info.st_size > max_bytes:
            raise RefusedFile(f"{relative} is {info.st_size} bytes; the limit is {max_bytes} (refused)")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > max_bytes:
                raise RefusedFile(f"{relative} is larger than {max_bytes} bytes (refused)")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


@dataclass
class Submission:
    """What ``grade`` takes from one ``submitted/<student>/<assignment>/`` folder."""

    notebooks: dict[str, bytes] = field(default_factory=dict)  # notebook name (no .ipynb) -> its bytes
    timestamp: datetime.datetime | None = None
    secret: str | None = None  # the exchange's submission_secret.txt: names the feedback file for fetch_feedback
    refused: list[str] = field(default_factory=list)           # files refused, and why
    ignored: list[str] = field(default_factory=list)           # other files handed in (never used)

    @property
    def code_beside(self) -> list[str]:
        """Ignored files that Python would run if the folder were on ``sys.path`` (it never is)."""
        return [name for name in self.ignored if name.split(" (")[0].endswith((".py", ".pth", ".pyc", ".so"))]


def read_timestamp(base: Path, student: str, assignment: str) -> datetime.datetime | None:
    """The time in ``base/student/assignment/timestamp.txt`` (read without following links; ``None`` if empty).

    Raises ``FileNotFoundError``, :class:`RefusedFile`, or whatever the text that is not a time makes
    nbgrader's ``parse_utc`` raise.
    """
    from nbgrader.utils import parse_utc

    text = read_regular_file(base, f"{student}/{assignment}/timestamp.txt", MAX_TIMESTAMP_BYTES).decode().strip()
    return parse_utc(text) if text else None


def read_submission(submitted_root: Path, student: str, assignment: str, notebooks: list[str],
                    max_bytes: int = MAX_NOTEBOOK_BYTES) -> Submission:
    """Read the notebooks ``notebooks`` (names without ``.ipynb``) and ``timestamp.txt`` of one submission."""
    found = Submission()
    folder = f"{student}/{assignment}"
    for name in notebooks:
        try:
            found.notebooks[name] = read_regular_file(submitted_root, f"{folder}/{name}.ipynb", max_bytes)
        except FileNotFoundError:
            continue
        except RefusedFile as error:
            found.refused.append(str(error))
    try:
        found.timestamp = read_timestamp(submitted_root, student, assignment)
    except FileNotFoundError:
        pass
    except Exception as error:  # noqa: BLE001 (any text that is not a time, e.g. one that overflows, is refused)
        found.refused.append(f"timestamp.txt: not a time ({type(error).__name__})")
    try:
        secret = read_regular_file(submitted_root, f"{folder}/{SECRET_NAME}", MAX_SECRET_BYTES).decode("ascii").strip()
        if not re.fullmatch(r"[0-9a-f]{1,256}", secret):
            raise ValueError("not a hexadecimal secret")
        found.secret = secret
    except FileNotFoundError:
        pass
    except (RefusedFile, UnicodeDecodeError, ValueError) as error:
        found.refused.append(f"{SECRET_NAME}: {error}")
    expected = {f"{name}.ipynb" for name in notebooks} | {"timestamp.txt", SECRET_NAME}
    try:
        for entry in os.scandir(Path(submitted_root) / student / assignment):
            if entry.name not in expected:
                kind = "link" if entry.is_symlink() else "folder" if entry.is_dir(follow_symlinks=False) else "file"
                found.ignored.append(f"{entry.name} ({kind})")
    except OSError:
        pass
    return found
