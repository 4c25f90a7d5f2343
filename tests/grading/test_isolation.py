"""The sandbox of the isolated regrade: a student's function called from the grader behaves like a local
call (as far as a check can observe), returns only plain data, and cannot reach what it must not."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from dlopt_reference.isolation import Sandbox, SandboxError, StudentError
from dlopt_reference.isolation.sandbox import sandbox_paths
from dlopt_reference.isolation.wire import ProtocolError, StudentObject, decode, split_message

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
])
def test_the_sandbox_refuses_and_records(course_root, tmp_path, code, refused):
    sys_path, policy = sandbox_paths(course_root)
    path = str(Path(course_root) / "nbgrader_config.py")
    with Sandbox(setup=[], policy=policy, sys_path=sys_path, scratch=tmp_path) as sandbox:
        error = sandbox.run_cell(code.format(path=path), "1", 60)
        assert error is not None, f"{code} was allowed"
        assert any(event == refused for event, _ in sandbox.refused), sandbox.refused
    assert not Path("/tmp/dlopt-outside-the-sandbox.txt").exists()


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
    from dlopt_reference.isolation.sandbox import Zygote

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


def test_what_a_cell_prints_comes_back_capped(course_root, tmp_path):
    from dlopt_reference.isolation.sandbox import MAX_OUTPUT

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
