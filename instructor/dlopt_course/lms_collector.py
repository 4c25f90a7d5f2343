"""``nbgrader zip_collect`` for Canvas and Moodle downloads: the collector plugin ``LmsCollector``.

Stock ``zip_collect`` extracts ``downloaded/<A>/archive/`` (zips and plain files) into
``downloaded/<A>/extracted/`` and asks a collector plugin, file by file, for ``student_id``, ``file_id`` and
an optional ``timestamp``; nbgrader's own collector needs a regular expression written for each LMS. This
one reads the names the LMS gives, with :func:`import_submissions.parse_name` and
:func:`import_submissions.notebook_order` (the same rules as ``import-submissions``):

- Canvas ``<name>_[late_]<userid>_<submissionid>_<file>`` and Moodle
  ``<Full Name>_<id>_assignsubmission_file_/<file>`` (or flattened);
- the student is the LMS user id, or the ``student_id`` of the roster CSV (``lms_id,student_id``) named by
  ``LmsCollector.roster`` (relative to the course folder); a user missing from it is skipped;
- ``file_id`` is the notebook's name without a copy or resubmission suffix: ``01_sgd (1).ipynb`` and
  ``01_sgd-2.ipynb`` become ``01_sgd.ipynb`` (only Canvas numbers resubmissions; elsewhere ``-2`` is a copy).

**Which resubmission wins.** ``zip_collect`` keeps one of two files of a student with the same ``file_id``
by their ``timestamp`` (the later, or the later in sorted path order when equal) and stops with an error when
a timestamp is missing. A resubmission number cannot be expressed that way without inventing submission
times, which ``timestamp.txt`` would then carry into the late penalty; and sorted order is not resubmission
order (of one prefix, ``..._01_sgd-1.ipynb`` sorts before ``..._01_sgd.ipynb``, ``-10`` before ``-2``).
So the plugin decides before ``zip_collect`` compares anything: on its first call it reads every name in
``extracted/`` and skips (returns ``None`` for, with a warning naming both files) every Canvas resubmission a
higher number replaced. Two notebooks of one student with no such order (a ``(1)`` copy next to the original,
two Moodle files) are all skipped with a warning: which one to grade is the instructor's choice.
``tests/course/test_zip_collect.py`` shows stock ``zip_collect`` stopping on two resubmissions.

**Times.** ``zip_collect`` extracts and copies without keeping file times, so the time of ``extracted/X`` is
that of the run. The plugin reads the original instead: the modification time of ``archive/X`` (a folder
download) or the entry's time in the zip ``archive/<zip>.zip`` it came from (read as UTC, as
``import-submissions`` does); ``zip_collect`` writes it to ``timestamp.txt``. With neither there is none.

A name it cannot parse, or a file that is not a notebook, is skipped with a warning that names the file,
never an exception. Unlike ``import-submissions`` it does not read the notebooks (no content check, no
refusal of hostile zips: ``zip_collect`` extracts them before the plugin sees a name).

Switched on in the course's ``nbgrader_config.py``::

    c.ZipCollectApp.collector_plugin = "dlopt_course.lms_collector.LmsCollector"
    c.LmsCollector.roster = "roster.csv"   # optional

then ``nbgrader zip_collect 01_sgd`` from the course folder.
"""

from __future__ import annotations

import datetime
import os
import zipfile
from pathlib import Path

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from .import_submissions import notebook_order, parse_name, read_roster


class LmsCollector(FileNameCollectorPlugin):
    """Student, notebook and time of each file of a Canvas or Moodle download (see the module docstring)."""

    roster = Unicode("", help="A CSV lms_id,student_id mapping LMS user ids to student ids (default: none, "
                              "the LMS id is the student id); relative to the course folder.").tag(config=True)

    _skipped: dict[str, str] | None = None
    _students: dict[str, str] | None = None

    def _folder(self, step: str) -> Path:
        """``downloaded/<A>/<step>`` as ``zip_collect`` (this plugin's parent) names it."""
        return Path(self.parent._format_collect_path(step))

    def _student(self, uid: str) -> str | None:
        """The student id of LMS user ``uid``: itself, or its roster entry (``None`` if not listed)."""
        if not self.roster:
            return uid
        if self._students is None:
            try:
                self._students = read_roster(Path(self.parent.coursedir.root) / self.roster)
            except (ValueError, OSError) as error:
                self.parent.fail(f"LmsCollector.roster: {error}")
        return self._students.get(uid)

    def _parse(self, relative: str) -> tuple[str, str, int | None] | str:
        """``(student, base name, resubmission order)`` of a file of ``extracted/``, or why it is skipped."""
        parsed = parse_name("/".join(relative.split("/")[-2:]))  # Moodle's name is the parent folder's
        if parsed is None:
            return ("a name no LMS gives (Canvas name_userid_submissionid_file or Moodle "
                    "Name_id_assignsubmission_file_): place it by hand")
        lms, uid, original = parsed
        ordered = notebook_order(original, self.parent.coursedir.assignment_id)
        if ordered is None:
            return "not a notebook (.ipynb)"
        student = self._student(uid)
        if student is None:
            return f"{lms} user {uid} is not in the roster {self.roster}"
        base, order = ordered
        return student, base, (order if lms == "Canvas" or not order else None)

    def _plan(self) -> dict[str, str]:
        """``{relative path: why skipped}`` for the notebooks of ``extracted/`` another one replaces or rivals."""
        extracted = self._folder(self.parent.extracted_directory)
        groups: dict[tuple[str, str], list[tuple[int | None, str]]] = {}
        for folder, _, files in os.walk(extracted):
            for name in files:
                relative = (Path(folder) / name).relative_to(extracted).as_posix()
                parsed = self._parse(relative)
                if not isinstance(parsed, str):
                    student, base, order = parsed
                    groups.setdefault((student, base), []).append((order, relative))
        skipped = {}
        for (student, base), found in groups.items():
            if len(found) == 1:
                continue
            orders = [order for order, _ in found]
            if None in orders or len(set(orders)) != len(orders):
                names = ", ".join(sorted(relative for _, relative in found))
                for _, relative in found:
                    skipped[relative] = (f"{student} has {len(found)} {base} notebooks with no resubmission "
                                         f"order ({names}): none collected; keep the one to grade")
                continue
            latest = max(found)[1]
            for _, relative in found:
                if relative != latest:
                    skipped[relative] = f"an earlier submission of {student}, replaced by {latest}"
        return skipped

    def _original_time(self, relative: str) -> datetime.datetime | None:
        """The time of the file ``archive/`` held before extraction (see the module docstring), in UTC."""
        archive = self._folder(self.parent.archive_directory)
        copied = archive / relative
        if copied.is_file() and not copied.is_symlink():
            return datetime.datetime.fromtimestamp(copied.stat().st_mtime, datetime.timezone.utc)
        parts = relative.split("/")
        for at in range(len(parts) - 1):
            zipped = archive.joinpath(*parts[:at], parts[at] + ".zip")
            if zipped.is_file() and zipfile.is_zipfile(zipped):
                try:
                    with zipfile.ZipFile(zipped) as opened:
                        info = opened.getinfo("/".join(parts[at + 1:]))
                    return datetime.datetime(*info.date_time, tzinfo=datetime.timezone.utc)
                except (KeyError, ValueError, OSError, zipfile.BadZipFile):
                    return None
        return None

    def collect(self, submitted_file: str) -> dict | None:
        """``{student_id, file_id, timestamp}`` of one extracted file, or ``None`` (logged) to skip it."""
        if self._skipped is None:
            self._skipped = self._plan()
        relative = Path(submitted_file).relative_to(self._folder(self.parent.extracted_directory)).as_posix()
        parsed = self._parse(relative)
        if isinstance(parsed, str) or relative in self._skipped:
            self.log.warning("Skipped %s: %s", submitted_file,
                             parsed if isinstance(parsed, str) else self._skipped[relative])
            return None
        student, base, _ = parsed
        return {"student_id": student, "file_id": f"{base}.ipynb", "timestamp": self._original_time(relative)}
