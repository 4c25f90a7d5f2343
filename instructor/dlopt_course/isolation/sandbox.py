"""Run a student's code in a separate, locked-down process; call its functions from the grader.

:class:`Sandbox` starts ``child.py`` (see its docstring for the locks: audit hook, resource limits,
no access to the course's files, no reference package). :class:`RemoteFunction` makes a function
defined there callable here, with the semantics of a local call as far as a grader can observe:

- arguments travel by pickle; grader functions among them (``grad_fn``, ``objective``) become
  callbacks that run **here**, with arguments decoded as plain data;
- the result comes back as plain data (``wire.decode``): genuine arrays, never an object of the
  student's making;
- in-place changes to the arguments (arrays, dicts, lists, a ``numpy.random.Generator``'s state) are
  applied to the grader's objects, and an argument returned as is comes back as the *same* object,
  so checks of "modified in place" and "returns the state dict" see what a local call would show;
- an exception raised by the student's code is raised here with the same built-in type and message
  (other types become :class:`StudentError`); a timeout or a dead process raises :class:`SandboxError`.

Every refusal of the audit hook (an attempt to open the gradebook, to spawn a process, ...) is
collected in :attr:`Sandbox.refused`.

One module because it is one side of one conversation with ``child.py``: requests, callbacks, in-place
updates and the zygote that forks fresh children share the framing and the state of a running process.
What that process may read (:mod:`.policy`), the kernel's rules (:mod:`.confine`) and the decoding of its
values (:mod:`.wire`) are modules of their own.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .wire import MAX_MESSAGE, CallbackMarker, ProtocolError, Ref, RngState, StudentObject, decode, split_message

CHILD = Path(__file__).with_name("child.py")

#: Resource limits of the student's process (``resource`` names): 2 GiB of address space, 10 minutes
#: of CPU time in all, files of at most 16 MiB, 256 open files, no core dumps.
DEFAULT_LIMITS = {"RLIMIT_AS": 2 * 1024 ** 3, "RLIMIT_CPU": 600, "RLIMIT_FSIZE": 16 * 1024 ** 2,
                  "RLIMIT_NOFILE": 256, "RLIMIT_CORE": 0}
#: Signals by which the kernel enforces those limits: signal -> (the limit, what the process did).
_LIMIT_SIGNALS = {
    signal.SIGXFSZ: ("file size limit", "it wrote a file past the sandbox's file-size limit"),
    signal.SIGXCPU: ("CPU time limit", "it used up the sandbox's CPU time"),
}
#: Every name under which a run's ``refused`` list records a limit that stopped the submission: the
#: kernel's (above) and the grader's own clocks and output counters (:mod:`.regrade`).
LIMIT_EVENTS = frozenset({"time limit", "time budget", "output limit"}
                         | {limit for limit, _ in _LIMIT_SIGNALS.values()})

#: Characters of stdout (and of stderr) kept per request, as in the student's process.
MAX_OUTPUT = 20_000
#: Refusals kept per student's process (the rest are counted); also the most refusal reports it may send.
MAX_REFUSED = 200
#: The label of a student's cell in a traceback (``<cell 4>``, ``<cell replay 2>``): nothing else is accepted.
_CELL_LABEL = re.compile(r"<cell [a-z0-9 ]{1,30}>")


class SandboxError(RuntimeError):
    """The student's process timed out, died, or broke the protocol."""


class StudentError(Exception):
    """An exception of a type that is not built in, raised by the student's code."""


class _CallbackRef:
    def __init__(self, number: int):
        self.number = number


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if type(obj) is _CallbackRef:
            return ("callback", obj.number)
        if type(obj) is StudentObject:
            return ("handle", obj.number)
        return None


def _is_grader_function(value) -> bool:
    return callable(value) and not isinstance(value, (type, StudentObject, RemoteFunction, np.ufunc)) and not hasattr(
        value, "bit_generator")


def _replace_callables(value, callbacks: list):
    """Copy the container structure of ``value`` with grader functions replaced by callback tokens."""
    if isinstance(value, RemoteFunction):
        return value.handle
    if _is_grader_function(value):
        callbacks.append(value)
        return _CallbackRef(len(callbacks) - 1)
    if type(value) is list:
        return [_replace_callables(v, callbacks) for v in value]
    if type(value) is tuple:
        return tuple(_replace_callables(v, callbacks) for v in value)
    if type(value) is dict:
        if any(_contains_callable(v) for v in value.values()):
            return {k: _replace_callables(v, callbacks) for k, v in value.items()}
        return value
    return value


def _contains_callable(value) -> bool:
    if _is_grader_function(value) or isinstance(value, RemoteFunction):
        return True
    if type(value) in (list, tuple):
        return any(_contains_callable(v) for v in value)
    if type(value) is dict:
        return any(_contains_callable(v) for v in value.values())
    return False


def _same(a, b) -> bool:
    try:
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    except TypeError:
        return False


class _Resolver:
    """Turn a decoded tree into values, applying ``Ref`` nodes to the grader's argument objects."""

    def __init__(self, roots: dict, sandbox: "Sandbox", callbacks: list | None = None):
        self.roots, self.sandbox, self.callbacks = roots, sandbox, callbacks or []
        self.touched: list[tuple[list, object]] = []  # (path, the grader's object) of every Ref resolved

    def _lookup(self, path: list):
        if not path or path[0] not in self.roots:
            return None, False
        value = self.roots[path[0]]
        for key in path[1:]:
            try:
                value = value[key]
            except (KeyError, IndexError, TypeError):
                return None, False
        return value, True

    def resolve(self, value):
        if isinstance(value, Ref):
            original, found = self._lookup(value.path)
            new = value.value if isinstance(value.value, RngState) else self.resolve(value.value)
            if not found:
                if isinstance(new, RngState):  # a generator the student's code made: a copy here
                    new = _generator(new.state)
                self.touched.append((value.path, new))
                return new
            self._update(original, new)
            self.touched.append((value.path, original))
            return original
        if isinstance(value, RngState):
            return StudentObject(0, "Generator", False)
        if isinstance(value, CallbackMarker):
            if 0 <= value.number < len(self.callbacks):
                return self.callbacks[value.number]
            return StudentObject(0, "function", False)
        if isinstance(value, StudentObject) and value.is_callable:
            return RemoteFunction(self.sandbox, value, value.type_name)
        if type(value) is list:
            return [self.resolve(v) for v in value]
        if type(value) is tuple:
            return tuple(self.resolve(v) for v in value)
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    @staticmethod
    def _update(original, new) -> None:
        if isinstance(original, np.ndarray):
            if isinstance(new, np.ndarray) and new.shape == original.shape and not _same(original, new):
                if original.flags.writeable:
                    np.copyto(original, new, casting="unsafe")
        elif isinstance(original, dict) and isinstance(new, dict):
            if original is not new:
                original.clear()
                original.update(new)
        elif isinstance(original, list) and isinstance(new, list):
            if original is not new:
                original[:] = new
        elif isinstance(original, np.random.Generator) and isinstance(new, RngState):
            try:
                original.bit_generator.state = new.state
            except (TypeError, ValueError, KeyError):
                pass


def child_environment(work: Path) -> dict:
    """The whole environment of a student's process (nothing inherited from the grader)."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(work), "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(Path(work) / "mpl"),
            "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0"}


class _Process:
    """A student's process: its pid, the pipe the grader writes to, the descriptor it reads from."""

    def __init__(self, pid: int, writer, reader: int, popen: subprocess.Popen | None = None,
                 zygote: "Zygote | None" = None):
        self.pid, self.writer, self.reader, self.popen, self.zygote = pid, writer, reader, popen, zygote

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        if self.zygote is not None and self.pid in self.zygote.codes:
            return False
        try:
            os.kill(self.pid, 0)  # a zygote's child (a zombie for a moment, until the zygote reaps it)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:
            return True

    def exit_code(self) -> int | None:
        if self.popen is None:
            return self.zygote.exit_code(self.pid) if self.zygote is not None else None
        with _suppress():
            return self.popen.wait(timeout=10)
        return None

    def kill(self) -> None:
        with _suppress():
            os.killpg(self.pid, signal.SIGKILL)  # its own session: it and anything it started
        if self.popen is not None:
            with _suppress():
                self.popen.kill()
            with _suppress():
                self.popen.wait(timeout=10)
        with _suppress():
            self.writer.close()
        if self.popen is not None:
            with _suppress():
                self.popen.stdout.close()
        else:
            with _suppress():
                os.close(self.reader)


class Zygote:
    """A fork server for students' processes (``child.py --zygote``): numpy, matplotlib and the setup
    cells are imported once; each :meth:`spawn` forks a fresh child that locks itself down.

    One zygote serves one setup (one assignment). It never runs a student's code itself.
    """

    def __init__(self, setup: list[str], sys_path: list[str], workdir: Path):
        import socket

        self.setup, self.sys_path = list(setup), list(sys_path)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        config = Path(tempfile.mkstemp(prefix="zygote-", suffix=".json", dir=workdir)[1])
        config.write_text(json.dumps({"sys_path": self.sys_path, "setup": self.setup}))
        self.socket, theirs = socket.socketpair()
        (workdir / "mpl").mkdir(exist_ok=True)
        self.popen = subprocess.Popen([sys.executable, "-I", "-S", str(CHILD), "--zygote", str(config)],
                                      stdin=theirs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                      cwd=str(workdir), env=child_environment(workdir), start_new_session=True)
        theirs.close()
        self.buffer = b""
        self.codes: dict[int, int] = {}  # pid -> exit code of the children that ended

    def serves(self, setup: list[str], sys_path: list[str]) -> bool:
        return list(setup) == self.setup and list(sys_path) == self.sys_path and self.popen.poll() is None

    def spawn(self, config: Path, timeout: float) -> _Process:
        import socket

        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            socket.send_fds(self.socket, [json.dumps({"config": str(config)}).encode()], [to_child_r, from_child_w])
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message is None:
                os.close(to_child_w)
                os.close(from_child_r)
                raise SandboxError("the zygote did not fork a student's process")
            if "pid" in message:
                return _Process(int(message["pid"]), os.fdopen(to_child_w, "wb", buffering=0), from_child_r,
                                zygote=self)

    def _next(self, deadline: float) -> dict | None:
        """The zygote's next message (a fork's pid; an exit status is filed in :attr:`codes`), or ``None``."""
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                message = json.loads(line)
                if "exited" in message:
                    self.codes[int(message["exited"])] = int(message["code"])
                else:
                    return message
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.socket], [], [], max(0.0, left))
            chunk = self.socket.recv(65536) if ready else b""
            if not chunk:
                return None
            self.buffer += chunk
            if not b"\n" in self.buffer and time.monotonic() >= deadline:
                return None

    def exit_code(self, pid: int, wait: float = 2.0) -> int | None:
        """How the zygote's child ``pid`` ended (``None`` if the zygote did not say within ``wait`` seconds)."""
        deadline = time.monotonic() + wait
        while pid not in self.codes and time.monotonic() < deadline:
            with _suppress():
                if self._next(min(deadline, time.monotonic() + 0.2)) is None and self.popen.poll() is not None:
                    break
        return self.codes.pop(pid, None)

    def close(self) -> None:
        with _suppress():
            self.socket.close()
        with _suppress():
            self.popen.kill()
        with _suppress():
            self.popen.wait(timeout=10)


_ZYGOTES: dict[tuple, Zygote] = {}


def shared_zygote(setup: list[str], sys_path: list[str], workdir: Path) -> Zygote:
    """This process's zygote for ``setup`` (started on first use; it exits when this process does)."""
    key = (tuple(setup), tuple(sys_path))
    zygote = _ZYGOTES.get(key)
    if zygote is None or not zygote.serves(setup, sys_path):
        if zygote is not None:
            zygote.close()
        zygote = _ZYGOTES[key] = Zygote(setup, sys_path, Path(workdir) / f"zygote-{len(_ZYGOTES)}")
    return zygote


class RemoteFunction:
    """A function of the student's process, callable from the grader (see the module docstring)."""

    def __init__(self, sandbox: "Sandbox", handle: StudentObject, name: str):
        self.sandbox, self.handle, self.__name__ = sandbox, handle, name
        self.__qualname__ = name

    def __repr__(self) -> str:
        return f"<function {self.__name__}>"

    @property
    def __globals__(self):
        return _RemoteGlobals(self.sandbox)

    def __call__(self, *args, **kwargs):
        try:
            return self.sandbox.call(self, args, kwargs)
        except SandboxError as error:  # its last frame: the student's process, never a line of this file
            raise _at_student_line(error.with_traceback(None), "<the student's process>", 1,
                                   "(the student's code was running here)") from None

    def __copy__(self):
        return self  # a handle on a function of the student's process: copies are the same handle

    def __deepcopy__(self, memo):
        return self


class Sandbox:
    """One student's process. ``with Sandbox(...) as box: box.run_cell(...); box.get([...])``."""

    def __init__(self, *, setup: list[str], policy: dict, sys_path: list[str], scratch: Path,
                 limits: dict | None = None, start_timeout: float = 120.0, zygote: "Zygote | None" = None,
                 confine: bool = True):
        self.setup, self.policy, self.sys_path = list(setup), dict(policy), list(sys_path)
        self.confine = confine  # False only in the weak mode an instructor asked for (see confine.probe)
        self.hung: set[str] = set()  # names of the student's functions that ran out of time once
        self.refused_more = self.refused_frames = 0  # refusals beyond MAX_REFUSED (counted, not kept)
        self.stdout: list[str] = []  # what the student's code printed since the last take_output()
        self.stderr: list[str] = []
        self.scratch = Path(scratch)
        self.limits = dict(DEFAULT_LIMITS if limits is None else limits)
        self.start_timeout = start_timeout
        self.zygote = zygote
        self.refused: list[tuple[str, str]] = []
        self.deadline: float | None = None
        self.process: _Process | None = None
        self.starts = 0

    # -- the process ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the student's process: forked by the zygote when there is one, else a new interpreter."""
        self.close()
        self.starts += 1
        work = self.scratch / f"run-{self.starts}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "mpl").mkdir(exist_ok=True)
        policy = dict(self.policy, write=[str(work)])
        config = work.parent / f"config-{self.starts}.json"
        config.write_text(json.dumps({"sys_path": self.sys_path, "scratch": str(work), "setup": self.setup,
                                      "policy": policy, "limits": self.limits, "confine": self.confine}))
        if self.zygote is not None and self.zygote.serves(self.setup, self.sys_path):
            self.process = self.zygote.spawn(config, timeout=self.start_timeout)
        else:
            popen = subprocess.Popen([sys.executable, "-I", "-S", str(CHILD), str(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     cwd=str(work), env=child_environment(work), start_new_session=True)
            self.process = _Process(popen.pid, popen.stdin, popen.stdout.fileno(), popen)
        self.deadline, saved = time.monotonic() + self.start_timeout, self.deadline
        try:
            header, _ = self._receive()
        finally:
            self.deadline = saved
        if header.get("kind") != "ready":
            raise SandboxError("the sandboxed process did not start")

    def close(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.kill()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    # -- framing ------------------------------------------------------------------------------------
    def _send(self, message: dict) -> None:
        if not self.alive:
            raise SandboxError("the student's process is not running (it died or was stopped)")
        buffer = io.BytesIO()
        _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(message)
        data = buffer.getvalue()
        try:
            self.process.writer.write(struct.pack(">I", len(data)) + data)
            self.process.writer.flush()
        except (BrokenPipeError, OSError):
            self._died()

    def _read(self, size: int) -> bytes:
        chunks, left = [], size
        fd = self.process.reader
        while left:
            timeout = None if self.deadline is None else self.deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                self.close()
                raise SandboxError("timed out: the student's code did not finish within the time limit "
                                   "(an endless loop, or far too slow)")
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                self._died()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _died(self):
        code = self.process.exit_code() if self.process is not None else None
        self.close()
        reason = ""
        if code is not None and code < 0:
            with _suppress():
                reason = f" (signal {signal.Signals(-code).name})"
        elif code is not None:
            reason = f" (exit code {code})"
        if code == -signal.SIGSYS:
            self.refused.append(("forbidden system call", "the kernel killed the student's process (SIGSYS) for a "
                                 "system call outside the sandbox's rules (a process, socket, signal, ptrace, ...)"))
            raise SandboxError("the student's process was stopped by the kernel for a forbidden system call "
                               "(starting a process, opening a socket, signalling another process, ...)")
        if code is not None and -code in _LIMIT_SIGNALS:
            limit, what = _LIMIT_SIGNALS[-code]
            self.refused.append((limit, f"the kernel stopped the student's process ({signal.Signals(-code).name}): {what}"))
            raise SandboxError(f"the student's process was stopped by the kernel: {what}")
        raise SandboxError(f"the student's process died{reason}: it exited, was killed, or ran out of memory or CPU time")

    def _broken(self, what: str):
        """The student's process wrote something no honest process writes to its pipe: stop it, record it."""
        self.refused.append(("protocol", f"the student's process wrote to the grader's pipe what the sandbox "
                                         f"never sends: {what[:200]}"))
        self.close()
        raise SandboxError(f"the student's process broke the protocol: {what[:300]}")

    def _receive(self) -> tuple[dict, list[bytes]]:
        """The next reply of the student's process (refusals reported on their own are filed on the way)."""
        while True:
            header, buffers = self._receive_one()
            if header.get("kind") != "refused":
                return header, buffers

    def _receive_one(self) -> tuple[dict, list[bytes]]:
        size = struct.unpack(">Q", self._read(8))[0]
        if size > MAX_MESSAGE:
            self._broken(f"it sent a message of {size} bytes (the limit is {MAX_MESSAGE})")
        try:
            header, buffers = split_message(self._read(size))
        except ProtocolError as error:
            self._broken(str(error))
        for name, target in (("stdout", self.stdout), ("stderr", self.stderr)):
            text = header.get(name)
            if isinstance(text, str) and text and sum(map(len, target)) < MAX_OUTPUT:
                target.append(_cap(text))
        refused = header.get("refused", [])
        if isinstance(refused, list):
            for item in refused[:MAX_REFUSED]:
                if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item):
                    if len(self.refused) < MAX_REFUSED:
                        self.refused.append((item[0][:100], item[1][:300]))
                    else:
                        self.refused_more += 1
        if header.get("kind") == "refused":
            self.refused_frames += 1
            if self.refused_frames > MAX_REFUSED:
                self._broken(f"more than {MAX_REFUSED} separate reports of refusals")
        return header, buffers

    def _reply(self, resolver: _Resolver | None = None, callbacks: list | None = None):
        """Wait for the answer to a request, serving callbacks meanwhile; return the decoded value."""
        while True:
            header, buffers = self._receive()
            kind = header.get("kind")
            try:
                if kind == "ok":
                    return decode(header.get("value"), buffers)
                if kind == "error":
                    raise self._exception(header)
                if kind == "callback" and callbacks is not None:
                    self._serve_callback(header, buffers, resolver, callbacks)
                    continue
            except ProtocolError as error:
                self._broken(str(error))
            self._broken(f"an unexpected message {str(kind)[:40]!r}")

    def _serve_callback(self, header: dict, buffers: list[bytes], resolver: _Resolver, callbacks: list) -> None:
        number = header.get("id")
        if type(number) is not int or not 0 <= number < len(callbacks):
            raise ProtocolError(f"a callback to an unknown function ({number!r} of {len(callbacks)})")
        start = len(resolver.touched)
        value = resolver.resolve(decode(header.get("value"), buffers))
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list) and isinstance(value[1], dict)
                and all(isinstance(k, str) for k in value[1])):
            raise ProtocolError("invalid callback arguments")
        try:
            result = callbacks[number](*value[0], **value[1])
        except Exception as error:  # noqa: BLE001 (the grader's function raised: the student's code sees it)
            self._send({"op": "raise", "type": type(error).__name__, "message": str(error)})
            return
        # what the grader's function changed in its arguments goes back to the student's objects
        updates = [(path, ("rng", obj.bit_generator.state) if isinstance(obj, np.random.Generator) else obj)
                   for path, obj in resolver.touched[start:] if len(path) > 1
                   if isinstance(obj, (np.ndarray, dict, list, np.random.Generator))]
        self._send({"op": "return", "value": _replace_callables(result, callbacks), "updates": updates})

    @staticmethod
    def _exception(header: dict) -> BaseException:
        error = Sandbox._exception_value(header)
        where = header.get("where")
        # only a cell of the student's, by the label the grader gave it: never a path of the grader's files
        if isinstance(where, list) and len(where) == 3 and isinstance(where[0], str) and type(where[1]) is int \
                and isinstance(where[2], str) and _CELL_LABEL.fullmatch(where[0]) and 0 < where[1] <= 1_000:
            error = _at_student_line(error, where[0].replace("<cell", "<student cell"), where[1], where[2][:300])
        return error

    @staticmethod
    def _exception_value(header: dict) -> BaseException:
        name, module = str(header.get("type", "Exception"))[:100], str(header.get("module", ""))[:100]
        message = str(header.get("message", ""))[:4000]
        lines = header.get("traceback") if isinstance(header.get("traceback"), list) else []
        where = "\n".join(str(line)[:300] for line in lines[-8:])
        error_type = getattr(builtins, name, None) if module == "builtins" else None
        if not (isinstance(error_type, type) and issubclass(error_type, Exception)) or issubclass(
                error_type, (StopIteration, StopAsyncIteration)):
            error = StudentError(f"{name}: {message}" if message else name)
        else:
            try:
                error = error_type(message)
            except Exception:  # noqa: BLE001 (e.g. UnicodeDecodeError needs five arguments)
                error = StudentError(f"{name}: {message}")
        error.student_traceback = where
        return error

    def take_output(self) -> tuple[str, str]:
        """``(stdout, stderr)`` printed by the student's code since the last call (at most ``MAX_OUTPUT`` each)."""
        out, err = _cap("".join(self.stdout)), _cap("".join(self.stderr))
        self.stdout, self.stderr = [], []
        return out, err

    # -- requests -----------------------------------------------------------------------------------
    def run_cell(self, source: str, label: str, timeout: float) -> BaseException | None:
        """Run one cell of the student's code; return its exception (``None`` if it ran)."""
        if not self.alive:
            self.start()
        self.deadline = time.monotonic() + timeout
        try:
            self._send({"op": "run", "source": source, "label": label})
            self._reply()
        except SandboxError as error:
            return error
        except Exception as error:  # noqa: BLE001 (the cell raised: it is reported, the next cell runs)
            return error
        finally:
            self.deadline = None
        return None

    def get(self, names: list[str], timeout: float = 60.0) -> dict:
        """The student's values of ``names`` that exist (functions as :class:`RemoteFunction`)."""
        if not self.alive:
            return {}
        self.deadline = time.monotonic() + timeout
        try:
            self._send({"op": "get", "names": list(names)})
            tree = self._reply()
        finally:
            self.deadline = None
        if not (isinstance(tree, dict) or tree is None):
            raise SandboxError("invalid answer to a name lookup")
        found = {}
        raw = tree if isinstance(tree, dict) else {}
        for name, value in raw.items():
            if name in names:
                found[name] = RemoteFunction(self, value, name) if isinstance(value, StudentObject) and \
                    value.is_callable else value
        return found

    def call(self, function: RemoteFunction, args: tuple, kwargs: dict):
        if function.__name__ in self.hung:
            raise SandboxError(f"timed out: {function.__name__} did not finish within the time limit in an earlier "
                               "check, so it is not called again (an endless loop, or far too slow)")
        if not self.alive:
            raise SandboxError("the student's process is not running (it died or timed out before)")
        try:
            return self._call(function, args, kwargs)
        except SandboxError as error:
            if str(error).startswith("timed out"):
                self.hung.add(function.__name__)
            raise

    def _call(self, function: RemoteFunction, args: tuple, kwargs: dict):
        callbacks: list = []
        message = {"op": "call", "target": function.handle.number,
                   "args": _replace_callables(list(args), callbacks),
                   "kwargs": _replace_callables(dict(kwargs), callbacks)}
        resolver = _Resolver({"a": list(args), "k": dict(kwargs)}, self, callbacks)
        self._send(message)
        value = self._reply(resolver, callbacks)
        if not (isinstance(value, dict) and set(value) == {"result", "args", "kwargs"}):
            raise SandboxError("the student's process sent an invalid call result")
        resolver.resolve(value["args"])
        resolver.resolve(value["kwargs"])
        return resolver.resolve(value["result"])


def _cap(text: str) -> str:
    """``text`` cut to ``MAX_OUTPUT`` characters, saying so (the child's own note may follow the limit)."""
    if len(text) <= MAX_OUTPUT + 200:
        return text
    return text[:MAX_OUTPUT] + f"\n[... {len(text) - MAX_OUTPUT} more characters of output not kept]\n"


def _generator(state) -> np.random.Generator | StudentObject:
    try:
        generator = np.random.default_rng()
        generator.bit_generator.state = state
        return generator
    except (TypeError, ValueError, KeyError):
        return StudentObject(0, "Generator", False)


def forget_student_lines() -> None:
    """Drop the lines :func:`_at_student_line` put in ``linecache`` (call when a submission is done)."""
    import linecache

    for name in [name for name in linecache.cache if isinstance(name, str) and name.startswith(_STUDENT_FILES)]:
        linecache.cache.pop(name, None)


_STUDENT_FILES = ("<student cell", "<the student's process>")


def _at_student_line(error: BaseException, filename: str, lineno: int, line: str) -> BaseException:
    """``error`` with a last traceback frame at the student's line (what checks show as "at line N")."""
    import linecache

    lines = [""] * (lineno - 1) + [line + "\n"]
    linecache.cache[filename] = (sum(map(len, lines)), None, lines, filename)
    try:
        exec(compile("\n" * (lineno - 1) + "raise __student_error__", filename, "exec"), {"__student_error__": error})
    except BaseException as raised:  # noqa: BLE001
        return raised.with_traceback(raised.__traceback__.tb_next) if raised.__traceback__ else raised
    return error


class _RemoteGlobals:
    """``RemoteFunction.__globals__``: the student's namespace, looked up name by name."""

    def __init__(self, sandbox: "Sandbox"):
        self.sandbox = sandbox

    def get(self, name, default=None):
        return self.sandbox.get([name]).get(name, default) if isinstance(name, str) else default

    def __getitem__(self, name):
        value = self.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value

    def __contains__(self, name) -> bool:
        return self.get(name, _MISSING) is not _MISSING


_MISSING = object()


class _suppress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return True
