"""``nbgrader collect`` with submission times the student cannot forge, and no link followed.

nbgrader's exchange lets each student's own process write the submission: the folder name's time and
the ``timestamp.txt`` inside are whatever that process says, and stock ``collect`` copies the folder with
``shutil.copytree``, which follows symbolic links (a link to the instructor's files becomes a copy of
them). This collector, selected in the instructor's ``nbgrader_config.py`` with

    c.ExchangeFactory.collect = "dlopt_course.trusted_collect.TrustedCollect"

changes two things and keeps the rest of nbgrader's behaviour (which submission is the latest, ``--update``,
``--before-duedate``, the owner check):

- **the time of a submission** is the latest *change time* (``st_ctime``) of its folder and of everything
  in it. The kernel sets a file's change time whenever the file or its metadata changes, and no process
  can set it back (``utime`` sets only the access and modification times). So the time is never earlier
  than the last change the student made: forging an earlier time is impossible, and changing a
  submission after the deadline makes it late. The collected folder's ``timestamp.txt`` is written with
  that time (the student's own ``timestamp.txt`` is not copied);
- **copying** takes regular files and folders only, opened without following links; links, devices and
  files over ``MAX_FILE_BYTES`` are left out and logged.
"""

from __future__ import annotations

import datetime
import os
import stat

from nbgrader.exchange.default.collect import ExchangeCollect

#: The largest file copied from a submission (a notebook with its outputs is a few MB at most).
MAX_FILE_BYTES = 50 * 1024 * 1024


def change_time(path: str) -> datetime.datetime:
    """The latest ``st_ctime`` of ``path`` and of everything beneath it (links not followed), in UTC."""
    latest = os.lstat(path).st_ctime
    for folder, folders, files in os.walk(path, followlinks=False):
        for name in folders + files:
            try:
                latest = max(latest, os.lstat(os.path.join(folder, name)).st_ctime)
            except OSError:
                continue
    return datetime.datetime.fromtimestamp(latest, tz=datetime.timezone.utc).replace(tzinfo=None)


def copy_regular(source: str, destination: str, log) -> None:
    """Copy the regular files and folders of ``source`` into ``destination``; never follow a link."""
    os.makedirs(destination, exist_ok=True)
    for entry in os.scandir(source):
        target = os.path.join(destination, entry.name)
        if entry.name == "timestamp.txt":
            continue  # the collector writes its own
        if entry.is_symlink():
            log.warning("left out %s: a symbolic link", entry.path)
        elif entry.is_dir(follow_symlinks=False):
            copy_regular(entry.path, target, log)
        elif entry.is_file(follow_symlinks=False):
            try:
                fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as error:
                log.warning("left out %s: %s", entry.path, error.strerror)
                continue
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE_BYTES:
                    log.warning("left out %s: not a regular file of at most %d bytes", entry.path, MAX_FILE_BYTES)
                    continue
                with open(target, "wb") as handle:
                    while chunk := os.read(fd, 1 << 20):
                        handle.write(chunk)
            finally:
                os.close(fd)
        else:
            log.warning("left out %s: not a regular file or folder", entry.path)


class TrustedCollect(ExchangeCollect):
    """nbgrader's collector with kernel-recorded submission times and link-free copies (module docstring)."""

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        record["claimed"] = record["timestamp"]
        record["timestamp"] = change_time(os.path.join(self.inbound_path, record["filename"]))
        return record

    def do_copy(self, src, dest):
        copy_regular(src, dest, self.log)
        record = next(rec for rec in self.src_records if os.path.join(self.inbound_path, rec["filename"]) == src)
        with open(os.path.join(dest, "timestamp.txt"), "w") as handle:
            handle.write(record["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
