"""The gradebook guard restores a gradebook that anything but the grader changed."""

from __future__ import annotations

import sqlite3

from dlopt_course.integrity import GradebookGuard


def _scores(path) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT student, score FROM grade ORDER BY student").fetchall()
    finally:
        connection.close()


def _write(path, sql: str) -> None:
    connection = sqlite3.connect(path)
    try:
        connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def test_guard_keeps_the_graders_writes_and_undoes_anyone_elses(tmp_path):
    database = tmp_path / "gradebook.db"
    _write(database, "CREATE TABLE grade (student TEXT, score REAL)")
    _write(database, "INSERT INTO grade VALUES ('alice', 3.0)")
    guard = GradebookGuard(database, tmp_path / "backup.db")
    assert guard.verify()  # nothing changed

    _write(database, "INSERT INTO grade VALUES ('bob', 1.0)")  # the grader's own merge...
    guard.commit()  # ...which it records
    assert guard.verify() and _scores(database) == [("alice", 3.0), ("bob", 1.0)]

    _write(database, "UPDATE grade SET score = 100")  # a submission's tampering
    assert not guard.verify()
    assert _scores(database) == [("alice", 3.0), ("bob", 1.0)]
    assert guard.verify()  # restored, and recorded as the new state
