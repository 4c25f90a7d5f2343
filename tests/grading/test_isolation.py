"""The sandbox of the isolated regrade: a student's function called from the grader behaves like a local
call (as far as a check can observe), returns only plain data, and cannot reach what it must not."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from dlopt_course.isolation import Sandbox, SandboxError, StudentError
from dlopt_course.isolation.policy import sandbox_paths
from dlopt_course.isolation.wire import ProtocolError, StudentObject, decode, split_message

STUDENT = '''
import numpy as np

def add_in_place(w, dw):
    w += dw
    return w

def fresh(w, dw):
    return w + dw

def update_config(config):
    config["t"] = config.get("t", 0) + 1
    config["m"] = config.get("m", np.zeros(2)) + 1.0
    return config

def draw(rng, n):
    return rng.normal(size=n)

def calls_back(objective, params):
    score = objective(params)
    return params, score

def shuffle_with(sampler, rng):
    return [sampler(rng) for _ in range(3)]

def raises_value_error(x):
    if x < 0:
        raise ValueError("x must be >= 0")
    return x

class Custom(Exception):
    pass

def raises_custom():
    raise Custom("mine")

class Cheat(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(other), bool)

def cheat(w):
    return np.zeros_like(w).view(Cheat)

def cache_pair(x):
    return x * 2, object()

def generator(n):
    for i in range(n):
        yield i

def endless():
    while True:
        pass
'''


@pytest.fixture(scope="module")
def box(course_root, tmp_path_factory):
    sys_path, policy = sandbox_paths(course_root)
    sandbox = Sandbox(setup=["import numpy as np"], policy=policy, sys_path=sys_path,
                      scratch=tmp_path_factory.mktemp("sandbox"))
    assert sandbox.run_cell(STUDENT, "1", 60) is None
    yield sandbox
    sandbox.close()


def functions(box, *names):
    found = box.get(list(names))
    return [found[name] for name in names]


def test_in_place_changes_reach_the_grader_and_identity_is_kept(box):
    add_in_place, fresh = functions(box, "add_in_place", "fresh")
    w, dw = np.array([1.0, 2.0]), np.array([0.5, 0.5])
    result = add_in_place(w, dw)
    assert result is w and np.array_equal(w, [1.5, 2.5])  # returned the argument itself, changed in place
    w = np.array([1.0, 2.0])
    result = fresh(w, dw)
    assert result is not w and np.array_equal(w, [1.0, 2.0]) and np.array_equal(result, [1.5, 2.5])


def test_a_dict_argument_is_updated_and_returned_as_the_same_object(box):
    (update_config,) = functions(box, "update_config")
    config = {"learning_rate": 0.1}
    result = update_config(config)
    assert result is config and config["t"] == 1 and np.array_equal(config["m"], [1.0, 1.0])


def test_the_generator_state_advances_as_in_a_local_call(box):
    (draw,) = functions(box, "draw")
    rng, local = np.random.default_rng(5), np.random.default_rng(5)
    assert np.array_equal(draw(rng, 3), local.normal(size=3))
    assert rng.bit_generator.state == local.bit_generator.state


def test_grader_functions_passed_as_arguments_run_in_the_grader(box):
    calls_back, shuffle_with = functions(box, "calls_back", "shuffle_with")
    seen = []

    def objective(params):
        seen.append(dict(params))
        params["x"] = -1.0  # changes its argument: the student's object changes too
        return 3

    params, score = calls_back(objective, {"x": 0.5})
    assert seen == [{"x": 0.5}] and score == 3 and params == {"x": -1.0}
    rng, local = np.random.default_rng(1), np.random.default_rng(1)
    assert shuffle_with(lambda r: r.uniform(), rng) == [local.uniform() for _ in range(3)]
    assert rng.bit_generator.state == local.bit_generator.state


def test_exceptions_keep_builtin_types_and_point_at_the_students_line(box):
    raises_value_error, raises_custom = functions(box, "raises_value_error", "raises_custom")
    with pytest.raises(ValueError, match="x must be >= 0") as info:
        raises_value_error(-1)
    last = info.traceback[-1]
    assert "student cell" in str(last.path) and "raise ValueError" in str(last.statement)
    with pytest.raises(StudentError, match="Custom: mine"):
        raises_custom()


def test_results_are_plain_data_never_objects_of_the_students_making(box):
    cheat, cache_pair, generator = functions(box, "cheat", "cache_pair", "generator")
    result = cheat(np.ones(3))
    assert type(result) is np.ndarray and not np.array_equal(result, np.ones(3))
    doubled, opaque = cache_pair(np.ones(2))
    assert np.array_equal(doubled, [2.0, 2.0]) and isinstance(opaque, StudentObject)
    assert generator(3) == [0, 1, 2]


def test_an_endless_loop_times_out_and_the_sandbox_restarts(course_root, tmp_path):
    sys_path, policy = sandbox_paths(course_root)
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell(STUDENT, "1", 60) is None
        (endless,) = functions(sandbox, "endless")
        sandbox.deadline = __import__("time").monotonic() + 1.0
        with pytest.raises(SandboxError, match="timed out"):
            endless()
        assert not sandbox.alive
        assert sandbox.run_cell("x = 1", "2", 60) is None and sandbox.get(["x"]) == {"x": 1}


@pytest.mark.parametrize("code, refused", [
    ("open({path!r}).read()", "reading"),
    ("open('/tmp/dlopt-outside-the-sandbox.txt', 'w')", "writing"),
    ("import subprocess; subprocess.run(['true'])", "subprocess.Popen"),
    ("import os; os.kill(os.getppid(), 0)", "os.kill"),
    ("import sqlite3; sqlite3.connect(':memory:')", "sqlite3.connect"),
    ("import dlopt_reference.optim", "import"),
    ("import ctypes; ctypes.CDLL(None)", "ctypes.dlopen"),
    # scheduling raises no audit event: the kernel refuses it (EPERM); the names are refused first, to name it
    ("import os; os.setpriority(os.PRIO_PROCESS, os.getppid(), 19)", "os.setpriority"),
    ("import os; os.sched_setaffinity(0, {{0}})", "os.sched_setaffinity"),
    ("import posix; posix.setpriority(posix.PRIO_PROCESS, 0, 19)", "os.setpriority"),
    # the sandbox's own frames (where a grader's values would be, were the grader in this process)
    ("import sys; sys._getframe(1)", "reading the sandbox's frames"),
    ("import sys; frame = sys._getframe(0)\nwhile frame is not None: frame = frame.f_back", None),
])
def test_the_sandbox_refuses_and_records(course_root, tmp_path, code, refused):
    sys_path, policy = sandbox_paths(course_root)
    path = str(Path(course_root) / "nbgrader_config.py")
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        error = sandbox.run_cell(code.format(path=path), "1", 60)
        if refused is None:  # a walk up the frames of the student's own code is not refused (nor named)
            assert error is None and sandbox.refused == [], (error, sandbox.refused)
            return
        assert error is not None, f"{code} was allowed"
        assert any(event == refused for event, _ in sandbox.refused), sandbox.refused
    assert not Path("/tmp/dlopt-outside-the-sandbox.txt").exists()


def test_the_instructors_packages_are_unreadable_when_grading_another_course(tmp_path):
    """Grading a course folder elsewhere: the reference and the tool (installed with this checkout) stay out of
    what the student's process may read, and opening one of their files fails there."""
    import dlopt_course
    import dlopt_reference.grading

    course = tmp_path / "course"
    course.mkdir()
    sys_path, policy = sandbox_paths(course)
    secrets = [Path(dlopt_reference.grading.__file__).resolve(), Path(dlopt_course.isolation.__file__).resolve()]
    for secret in secrets:
        assert not any(secret == Path(root) or Path(root) in secret.parents for root in policy["read"]), secret
    (tmp_path / "scratch").mkdir()
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path / "scratch") as sandbox:
        for secret in secrets:
            assert sandbox.run_cell(f"open({str(secret)!r}).read()", "1", 60) is not None, f"{secret} was read"
        assert sandbox.run_cell("import dlopt_course", "2", 60) is not None


def _message(header: bytes, *buffers: bytes) -> bytes:
    return struct.pack(">I", len(header)) + header + b"".join(buffers)


@pytest.mark.parametrize("node", [
    {"t": "nd", "dtype": "|O", "shape": [1], "b": 0},          # object arrays: never
    {"t": "nd", "dtype": "<f8", "shape": [3], "b": 0},         # 8 bytes for 3 float64
    {"t": "nd", "dtype": "<f8", "shape": [-1], "b": 0},
    {"t": "nd", "dtype": "<f8", "shape": [1], "b": 5},
    {"t": "pickle", "v": "gASVAAAA"},
    {"t": "float", "v": "__import__('os')"},
    [1, 2],
])
def test_the_decoder_rejects_anything_but_plain_data(node):
    with pytest.raises(ProtocolError):
        decode(node, [np.zeros(1).tobytes()])


def test_the_decoder_rejects_malformed_frames():
    with pytest.raises(ProtocolError):
        split_message(_message(b'{"buffers": [100]}', b"short"))
    with pytest.raises(ProtocolError):
        split_message(_message(b"not json"))
    header, buffers = split_message(_message(b'{"buffers": [8]}', np.ones(1).tobytes()))
    assert decode({"t": "nd", "dtype": "<f8", "shape": [1], "b": 0}, buffers).tolist() == [1.0]


def test_children_of_a_zygote_are_fresh_and_locked_down(course_root, tmp_path):
    from dlopt_course.isolation.sandbox import Zygote

    sys_path, policy = sandbox_paths(course_root)
    zygote = Zygote(["import numpy as np"], sys_path, tmp_path / "zygote")
    try:
        with Sandbox(setup=["import numpy as np"], policy=policy, sys_path=sys_path, scratch=tmp_path / "a",
                     zygote=zygote) as first:
            assert first.run_cell("x = np.arange(3)", "1", 60) is None
            assert first.get(["x"])["x"].tolist() == [0, 1, 2]
            assert first.run_cell("import os; os.fork()", "2", 60) is not None
            assert ("os.fork", "()") in first.refused
            assert first.process.popen is None  # forked by the zygote, not a new interpreter
        with Sandbox(setup=["import numpy as np"], policy=policy, sys_path=sys_path, scratch=tmp_path / "b",
                     zygote=zygote) as second:
            assert second.run_cell("y = np.ones(2)", "1", 60) is None
            assert second.get(["x", "y"]).keys() == {"y"}  # nothing left from the first student
    finally:
        zygote.close()


def test_a_call_the_kernel_forbids_ends_the_process_and_is_recorded(course_root, tmp_path):
    """``pidfd_open`` passes the audit hook (it raises no audit event); seccomp kills the process for it."""
    sys_path, policy = sandbox_paths(course_root)
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell("x = 1", "1", 60) is None
        error = sandbox.run_cell("import os\nos.pidfd_open(os.getpid())", "2", 60)
        assert isinstance(error, SandboxError) and "forbidden system call" in str(error)
        assert [event for event, _ in sandbox.refused] == ["forbidden system call"]
        assert not sandbox.alive


def test_a_function_the_grader_calls_cannot_take_the_callers_frame(course_root, tmp_path):
    """What a reference-in-the-same-process grader would leak (its callers' variables) is refused by name."""
    sys_path, policy = sandbox_paths(course_root)
    code = "import sys\ndef peek():\n    return sorted(sys._getframe(1).f_locals)"
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell(code, "1", 60) is None
        (peek,) = functions(sandbox, "peek")
        with pytest.raises(PermissionError, match="sandbox's frames"):
            peek()
        assert [event for event, _ in sandbox.refused] == ["reading the sandbox's frames"]


def test_an_object_posing_as_an_array_stays_an_object_and_is_named(course_root, tmp_path):
    """Only plain data reaches the grader: a value that would turn into any array numpy compares it with
    comes back as an opaque object, and the attempt is recorded."""
    sys_path, policy = sandbox_paths(course_root)
    code = ("import numpy as np\nclass Anything:\n    def __array__(self, dtype=None, copy=None):\n"
            "        return np.zeros(3)\ndef fake():\n    return Anything()\ndef honest():\n    return np.ones(3)")
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell(code, "1", 60) is None
        fake, honest = functions(sandbox, "fake", "honest")
        assert type(honest()) is np.ndarray and sandbox.refused == []
        assert isinstance(fake(), StudentObject)
        assert sandbox.refused == [("tampered", "student code returned an object posing as an array "
                                                "(Anything defines __array__)")]


def test_honest_uses_of_frames_are_not_refused(course_root, tmp_path):
    """Libraries look at their callers' frames (namedtuple, logging, inspect): never an incident."""
    sys_path, policy = sandbox_paths(course_root)
    code = ("import collections, inspect, logging, sys, typing\n"
            "Point = collections.namedtuple('Point', 'x y')\n"
            "class Pair(typing.NamedTuple):\n    a: int\n    b: int\n"
            "logging.getLogger('student').warning('careful')\n"
            "here = inspect.currentframe().f_code.co_name\n"
            "def where():\n    return inspect.stack(0)[0].function\n"
            "assert Point(1, 2).y == 2 and Pair(1, 2).b == 2 and where() == 'where'")
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell(code, "1", 60) is None
        (where,) = functions(sandbox, "where")
        assert where() == "where"
        assert sandbox.refused == []


def test_a_file_past_the_size_limit_stops_the_process_and_is_named(course_root, tmp_path):
    sys_path, policy = sandbox_paths(course_root)
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        error = sandbox.run_cell("with open('big', 'wb') as handle:\n    handle.write(b'x' * (32 * 1024 ** 2))",
                                 "1", 60)
        assert isinstance(error, SandboxError) and "file-size limit" in str(error)
        assert [event for event, _ in sandbox.refused] == ["file size limit"]
    assert all(path.stat().st_size <= 16 * 1024 ** 2 for path in tmp_path.rglob("*") if path.is_file())


def test_what_a_cell_prints_comes_back_capped(course_root, tmp_path):
    from dlopt_course.isolation.sandbox import MAX_OUTPUT

    sys_path, policy = sandbox_paths(course_root)
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell("import sys\nprint('hello')\nprint('careful', file=sys.stderr)", "1", 60) is None
        assert sandbox.take_output() == ("hello\n", "careful\n")
        assert sandbox.run_cell("for _ in range(100):\n    print('x' * 100_000)", "2", 60) is None
        out, err = sandbox.take_output()
        assert out.startswith("x" * 1000) and len(out) < MAX_OUTPUT + 200 and "more characters of output not kept" in out


def test_the_student_process_reads_only_its_allow_list(course_root, tmp_path):
    """The course folder (sources, gradebook) is not readable; the helper package and numpy are."""
    sys_path, policy = sandbox_paths(course_root)
    assert not any(Path(path) == course_root or course_root in Path(path).parents and "site-packages" not in path
                   for path in policy["read"])
    with Sandbox(setup=["import numpy as np"], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        assert sandbox.run_cell("import dlopt.problems, scipy.special, json", "1", 60) is None
        error = sandbox.run_cell(f"open({str(course_root / 'exercises' / '01_sgd' / '01_sgd.ipynb')!r}).read()", "2", 60)
        assert isinstance(error, PermissionError)
        assert ("reading", str(course_root / "exercises" / "01_sgd" / "01_sgd.ipynb")) in sandbox.refused


def test_a_submission_runs_under_the_limits_and_each_limit_it_reaches_is_named(course_root, tmp_path):
    """Through ``regrade_notebook`` (what ``grade`` runs): the student's cells see the sandbox's resource
    limits, and a cell stopped by the time limit or cut by the output limit is recorded, once per limit."""
    import nbformat

    from dlopt_course.isolation import regrade_notebook
    from dlopt_course.isolation.sandbox import DEFAULT_LIMITS

    source = nbformat.read(Path(course_root) / "exercises" / "01_sgd" / "01_sgd.ipynb", as_version=4)
    submission = nbformat.read(Path(course_root) / "exercises" / "01_sgd" / "01_sgd.ipynb", as_version=4)
    cells = ["import resource\nprint({name: resource.getrlimit(getattr(resource, name))[0] for name in %r})"
             % sorted(DEFAULT_LIMITS),
             "import time\ntime.sleep(60)",
             "print('x' * 100_000)"]
    for offset, code in enumerate(cells):
        submission.cells.insert(1 + offset, nbformat.v4.new_code_cell(code))
    result = regrade_notebook(source, submission, Path(course_root), tmp_path, timeout=3, budget=120)
    printed = "".join(output.get("text", "") for output in result.outputs[1])
    assert eval(printed) == DEFAULT_LIMITS  # noqa: S307 (the dict the cell printed)
    events = [event for event, _ in result.refused]
    assert events.count("time limit") == 1 and events.count("output limit") == 1, result.refused
    assert "time budget" not in events
