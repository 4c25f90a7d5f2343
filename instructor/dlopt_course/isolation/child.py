"""The sandboxed process that runs a student's code (the only place student code ever runs).

One module because it runs as a script (``python -I -S child.py``): nothing of this package is importable
in the student's process, so everything that process needs must be in this one file.

This file runs as a script (``python -I -S child.py CONFIG.json``, or forked from a zygote started that
way), never as part of the instructor's tool: ``-S`` skips site-packages' ``.pth`` files, so neither
``dlopt_reference`` nor ``dlopt_course`` (editable installs) is importable here, and ``-I`` keeps the script's folder
off ``sys.path``. It needs only the standard library and numpy. The parent
(:mod:`dlopt_course.isolation.sandbox`) computes every verdict; this process only *runs* the student's
code and returns **plain values** and the text the code printed: the parent decodes them with a strict
decoder (:mod:`dlopt_course.isolation.wire`), so nothing the student builds here can reach the grader
as anything but data.

Before any student code runs, the process (:func:`_serve`)

- runs the assignment's own setup cells (the instructor's imports) and pre-imports numpy;
- keeps two private pipes to the parent, points descriptors 0, 1 and 2 at ``/dev/null`` and closes every
  other descriptor it inherited;
- sets resource limits (address space, CPU time, file size, no core dumps);
- confines itself with what the **kernel** enforces (``confine.py``: no capabilities, no new privileges,
  Landlock: read only the Python environment and the helper package, write only its scratch folder, no
  TCP, no signals or abstract sockets outside itself; seccomp: no new processes, programs, sockets,
  ptrace, namespaces or kernel interfaces -- the kernel kills the process for trying);
- installs a PEP 578 audit hook (:func:`install_audit_hook`) with the same allow list, as defence in
  depth and to *name* an attempt: each refusal is reported to the parent as an incident;
- remembers what a grader running here would rely on (builtins, numpy's functions, import hooks; see
  :func:`_check_tampering`): each replacement by the student's code is reported as an incident too.

Protocol: frames of a 4-byte big-endian length and a payload. Parent to child: a pickle (the child
trusts its parent). Child to parent: a JSON header and raw array buffers (see ``wire.py``); every
header carries what the code printed since the last one (at most ``MAX_OUTPUT`` characters per stream
and request) and what the audit hook refused.
"""

from __future__ import annotations

import builtins
import io
import json
import linecache
import os
import pickle
import struct
import sys
import traceback
import types

MAX_DEPTH = 64
MAX_ITEMS = 1_000_000  # elements of a container or items of a materialised iterator
MAX_MESSAGE = 64 * 1024 * 1024
MAX_OUTPUT = 20_000  # characters of stdout (and of stderr) kept per request; the rest is counted, not kept

# ------------------------------------------------------------------------------------------------
# the audit hook: the same allow list as the kernel's rules, to name what a submission attempted

_DENIED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "os.startfile", "pty.spawn", "signal.pthread_kill", "socket.__new__",
    "socket.connect", "socket.bind", "socket.sendto", "sqlite3.connect", "sqlite3.connect/handle",
    "sqlite3.enable_load_extension", "sqlite3.load_extension", "resource.setrlimit", "resource.prlimit",
    "urllib.Request", "webbrowser.open", "sys.remote_exec", "os.setuid", "os.setgid", "os.chroot",
}
_DENIED_PREFIXES = ("ctypes.", "winreg.", "_winapi.", "msvcrt.")
_WRITE_PATH_EVENTS = {
    "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.mkdir": (0,), "os.chmod": (0,),
    "os.chown": (0,), "os.chflags": (0,), "os.lchflags": (0,), "os.link": (0, 1), "os.symlink": (0, 1),
    "os.truncate": (0,), "os.utime": (0,), "os.setxattr": (0,), "os.removexattr": (0,), "os.mkfifo": (0,),
    "os.mknod": (0,), "shutil.copyfile": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,),
    "shutil.copytree": (1,), "shutil.rmtree": (0,), "shutil.move": (0, 1), "shutil.chown": (0,),
    "shutil.make_archive": (0,), "shutil.unpack_archive": (1,), "tempfile.mkstemp": (0,), "tempfile.mkdtemp": (0,),
}
_READ_PATH_EVENTS = {"os.listdir": (0,), "os.scandir": (0,), "glob.glob": (0,), "os.chdir": (0,)}
_FORBIDDEN_MODULES = ("dlopt_reference", "dlopt_course", "__editable__", "_dlopt_reference", "solutions", "instructor")
#: Changing priorities, CPU affinity or scheduling policy may name any process of the same account.
_SCHEDULING = ("setpriority", "sched_setaffinity", "sched_setparam", "sched_setscheduler")
_OWN_GLOBALS = globals()  # the namespace of this file's code; the student's code runs in another one
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

#: Everything the hook refused: (event, detail). Reported to the parent at once and with every reply.
REFUSED: list[tuple[str, str]] = []
_REPORT = None  # sends the refusals to the parent now (set once the process talks to its parent)


def _real(path) -> str | None:
    if isinstance(path, int):
        return None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        path = os.fspath(path)
    return os.path.realpath(path)


def _under(path: str, roots) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def install_audit_hook(policy: dict) -> None:
    """Install a PEP 578 audit hook that refuses, and records, what ``policy`` does not allow.

    ``policy["read"]``: the only folders and files that may be read; ``policy["write"]``: the only ones
    that may be written (and read); ``policy["listable"]``: folders whose entries may be listed. Processes, signals, sockets, ctypes, SQLite and the import of the
    reference package are refused outright.

    This is not the boundary -- the kernel's rules (``confine.py``) are: a hook judges paths by their
    text and can be walked around (``dir_fd=`` arguments, descriptors); the kernel judges the file
    actually opened. The hook's job is to turn the plain attempts into named incidents.
    """
    read = [os.path.realpath(p) for p in policy.get("read", [])]
    write = [os.path.realpath(p) for p in policy.get("write", [])] + ["/dev/null"]
    listable = [os.path.realpath(p) for p in policy.get("listable", [])]
    refused = REFUSED
    deny = PermissionError

    def refuse(event: str, detail: str):
        if len(refused) < 1000:
            refused.append((event, detail[:300]))
            if _REPORT is not None:  # at once: the process may be killed before its next reply
                try:
                    _REPORT()
                except Exception:  # noqa: BLE001 (reported with the next reply instead)
                    pass
        raise deny(f"the grader's sandbox does not allow {event} ({detail[:200]})")

    def check_read(path, listing: bool = False) -> None:
        real = _real(path)
        if real is not None and not (_under(real, read) or _under(real, write) or (listing and _under(real, listable))):
            refuse("reading", real)

    def check_write(path) -> None:
        real = _real(path)
        if real is not None and not _under(real, write):
            refuse("writing", real)

    def hook(event: str, args) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance(path, int):
                return
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            directory = isinstance(flags, int) and flags & os.O_DIRECTORY
            check_write(path) if writing else check_read(path, listing=directory)
        elif event == "import":
            name = str(args[0]) if args else ""
            if name.startswith(_FORBIDDEN_MODULES) or "dlopt_reference" in name or "dlopt_course" in name:
                refuse("import", name)
        elif event in _WRITE_PATH_EVENTS:
            for index in _WRITE_PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None:
                    check_write(args[index])
        elif event in _READ_PATH_EVENTS:
            for index in _READ_PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None:
                    check_read(args[index], listing=event != "os.chdir")
        elif event in _DENIED_EVENTS:
            refuse(event, repr(args)[:200])
        elif event.startswith(_DENIED_PREFIXES):
            refuse(event, "")
        elif event == "sys._getframe":
            # a frame of this file's own code (the sandbox serving the parent), asked for by number: the
            # plain way to look for the grader's values among the callers' variables (this file itself
            # never asks for a frame)
            frame = args[0] if args else None
            if type(frame) is types.FrameType and frame.f_globals is _OWN_GLOBALS:
                refuse("reading the sandbox's frames", f"{event} on a frame of the sandbox's own code")

    sys.addaudithook(hook)
    # Scheduling has no audit event: the kernel refuses these calls (EPERM, confine.py); calling them
    # through these names is refused here first, so that the attempt is named
    for name in _SCHEDULING:
        if hasattr(os, name):
            stand_in = _refusing(f"os.{name}", refuse)
            setattr(os, name, stand_in)
            if "posix" in sys.modules and hasattr(sys.modules["posix"], name):
                setattr(sys.modules["posix"], name, stand_in)


def _refusing(event: str, refuse):
    def refused(*args, **kwargs):
        refuse(event, repr(args)[:200])
    refused.__name__ = event.rsplit(".", 1)[-1]
    return refused


# ------------------------------------------------------------------------------------------------
# encoding plain values for the parent (the parent decodes strictly; see wire.py)

class EncodeError(TypeError):
    pass


class _Encoder:
    """Encode a value as a JSON tree plus raw buffers; objects the parent sent keep their path."""

    def __init__(self, known: dict[int, list], handles: dict[int, object]):
        self.known = known          # id(object) -> path, for the mutable objects of a call's arguments
        self.handles = handles      # handle id -> object, for values that are not plain data
        self.buffers: list[bytes] = []
        self.active: set[int] = set()

    def handle(self, value) -> dict:
        _name_impostor(type(value))
        number = len(self.handles) + 1
        self.handles[number] = value
        return {"t": "handle", "id": number, "type": type(value).__name__[:100], "callable": callable(value)}

    def encode(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise EncodeError("the value is nested too deeply")
        import numpy as np

        path = self.known.get(id(value))
        if path is not None and id(value) not in self.active:
            self.active.add(id(value))
            try:
                if isinstance(value, np.random.Generator):
                    inner = {"t": "rng", "state": self.encode(value.bit_generator.state, depth + 1)}
                else:
                    inner = self._plain(value, depth)
            finally:
                self.active.discard(id(value))
            return {"t": "ref", "path": path, "v": inner}
        if id(value) in self.active:
            raise EncodeError("the value contains itself")
        return self._plain(value, depth)

    def _plain(self, value, depth: int):
        import numpy as np

        kind = type(value)
        if value is None or kind is bool or kind is str:
            return value
        if kind is types.FunctionType and type(getattr(value, "_grader_callback", None)) is int:
            return {"t": "callback", "n": value._grader_callback}
        if kind is int:
            return value if abs(value) < 2 ** 1000 else self.handle(value)
        if kind is float:
            return value if value == value and value not in (float("inf"), float("-inf")) else {"t": "float", "v": repr(value)}
        if kind is complex:
            return {"t": "complex", "re": repr(value.real), "im": repr(value.imag)}
        if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
            array = np.ascontiguousarray(value)
            self.buffers.append(array.tobytes())
            return {"t": "nd", "dtype": array.dtype.str, "shape": list(array.shape), "b": len(self.buffers) - 1}
        if isinstance(value, np.generic) and value.dtype.kind in "biufc":
            self.buffers.append(np.asarray(value).tobytes())
            return {"t": "npscalar", "dtype": value.dtype.str, "b": len(self.buffers) - 1}
        if isinstance(value, (tuple, list, dict)):
            self.active.add(id(value))
            try:
                if isinstance(value, dict):
                    if len(value) > MAX_ITEMS:
                        raise EncodeError("the dict is too large")
                    items = [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in list(value.items())]
                    return {"t": "dict", "v": items}
                if len(value) > MAX_ITEMS:
                    raise EncodeError("the sequence is too large")
                return {"t": "tuple" if isinstance(value, tuple) else "list",
                        "v": [self.encode(item, depth + 1) for item in list(value)]}
            finally:
                self.active.discard(id(value))
        if isinstance(value, (types.GeneratorType, map, filter, zip, range, enumerate, reversed)) or (
                hasattr(kind, "__next__") and hasattr(kind, "__iter__")):
            items = []
            for item in value:
                items.append(item)
                if len(items) > MAX_ITEMS:
                    raise EncodeError("the iterator yields too many items")
            return {"t": "list", "v": [self.encode(item, depth + 1) for item in items]}
        return self.handle(value)


def encode_message(header: dict, buffers: list[bytes]) -> bytes:
    header = dict(header, buffers=[len(b) for b in buffers])
    text = json.dumps(header, allow_nan=False).encode()
    return struct.pack(">I", len(text)) + text + b"".join(buffers)


# ------------------------------------------------------------------------------------------------
# the process


#: ``get_ipython()`` attributes through which code rewrites the kernel (its input, its errors, its events)
_SHELL_HOOKS = frozenset({"input_transformers_post", "input_transformers_cleanup", "ast_transformers",
                          "set_custom_exc", "set_hook", "events", "register_magic_function", "showtraceback",
                          "_showtraceback", "showsyntaxerror", "displayhook", "display_trap", "excepthook"})


class _NoShell:
    """What ``get_ipython()`` returns here: every attribute is a function that does nothing.

    There is no kernel to rewrite; replacing an attribute of it, or calling one of the kernel's hooks
    (``input_transformers_post.append``, ``set_custom_exc``, ...), is recorded as tampering. Magics
    (``%matplotlib inline`` becomes ``get_ipython().run_line_magic(...)``) are not.
    """

    def __init__(self, path: tuple = ()):
        object.__setattr__(self, "_path", path)

    def __getattr__(self, name):
        return _NoShell(object.__getattribute__(self, "_path") + (name,))

    def __setattr__(self, name, value):
        path = object.__getattribute__(self, "_path") + (name,)
        _tampered("replaced get_ipython()." + ".".join(map(str, path)))

    def __call__(self, *args, **kwargs):
        path = object.__getattribute__(self, "_path")
        if path and path[0] in _SHELL_HOOKS:
            _tampered("called get_ipython()." + ".".join(map(str, path)))
        return None

    def __iter__(self):
        return iter(())


# ------------------------------------------------------------------------------------------------
# tampering: what a grader running in this process would rely on, replaced by the student's code
#
# The tests never run here, so nothing here can change a verdict; what the student's code replaced is
# recorded to name the attempt. The objects are kept by reference (no copies) when the process is ready;
# after every reply's worth of student code, entries that existed then and were replaced or removed are
# reported, once each. Names a student adds (``import numpy as np``, a helper function) are not compared.

_WATCHED_MODULES = ("numpy", "numpy.testing")
_WATCHED_PREFIXES = ("numpy", "dlopt")
_SNAPSHOT: dict = {}
_TAMPERED: set = set()


def _tampered(what: str) -> None:
    """Record ``student code <what>`` once (reported to the parent with the next reply)."""
    if what not in _TAMPERED and len(_TAMPERED) < 200:
        _TAMPERED.add(what)
        REFUSED.append(("tampered", ("student code " + what)[:300]))


#: numpy's conversion protocols: a class of the student's own that defines one poses as an array
_ARRAY_PROTOCOLS = ("__array__", "__array_interface__", "__array_struct__", "__array_ufunc__", "__array_function__")


def _name_impostor(kind: type) -> None:
    """Record a value whose class, not numpy's, converts itself into arrays: it can only matter to a
    grader that converts it in the student's process (this one sends the parent plain values only).
    Read through ``type``'s own descriptors, so that no code of the student's metaclass runs."""
    try:
        mro = type.__dict__["__mro__"].__get__(kind)
        if any(str(type.__dict__["__module__"].__get__(klass)).split(".")[0] == "numpy" for klass in mro):
            return
        for klass in mro:
            found = [name for name in _ARRAY_PROTOCOLS if name in type.__dict__["__dict__"].__get__(klass)]
            if found:
                name = type.__dict__["__name__"].__get__(kind)
                _tampered(f"returned an object posing as an array ({str(name)[:60]} defines {found[0]})")
                return
    except BaseException:  # noqa: BLE001 (naming an attempt must never break the student's run)
        pass


def _take_snapshot() -> None:
    """Remember what a grader relies on: builtins, numpy's and numpy.testing's public callables, the
    numpy and dlopt entries of ``sys.modules``, the import hooks, ``sys.excepthook``/``displayhook``."""
    snapshot = {("builtins", name): value for name, value in vars(builtins).items()}
    for module_name in _WATCHED_MODULES:
        module = sys.modules.get(module_name)
        if module is not None:
            snapshot.update(((module_name, name), value) for name, value in list(vars(module).items())
                            if not name.startswith("_") and callable(value) and not isinstance(value, types.ModuleType))
    snapshot.update((("sys.modules", name), module) for name, module in list(sys.modules.items())
                    if name.startswith(_WATCHED_PREFIXES))
    snapshot.update((("sys", name), getattr(sys, name, None)) for name in ("excepthook", "displayhook", "modules"))
    _SNAPSHOT.clear()
    _SNAPSHOT.update(snapshot)
    _SNAPSHOT["meta_path"] = list(sys.meta_path)
    _SNAPSHOT["path_hooks"] = list(sys.path_hooks)


def _check_tampering(_vars=vars, _getattr=getattr, _list=list, _str=str, _type=type, _modules=sys.modules,
                     _sys=sys, _builtins=builtins) -> None:
    """Record every watched entry the student's code replaced or removed since :func:`_take_snapshot`,
    and every import hook it added (a finder whose class the student's code defined). The built-ins this
    uses are bound when it is defined: the student's code may have replaced them."""
    if not _SNAPSHOT:
        return
    try:
        missing = object()
        namespaces = {"builtins": _vars(_builtins), "sys.modules": _modules}
        for module_name in _WATCHED_MODULES:
            module = _modules.get(module_name)
            namespaces[module_name] = _vars(module) if module is not None else {}
        for key, original in _list(_SNAPSHOT.items()):
            if _type(key) is not tuple:
                continue
            where, name = key
            if where == "sys":
                current = _getattr(_sys, name, missing)
            else:
                current = namespaces[where].get(name, missing)
            if current is original:
                continue
            label = f"sys.modules[{name!r}]" if where == "sys.modules" else f"{where}.{name}"
            _tampered(("removed " if current is missing else "replaced ") + label)
        for name in _list(_modules):
            if _str(name).startswith(("dlopt_reference", "dlopt_course")) and ("sys.modules", name) not in _SNAPSHOT:
                _tampered(f"put {_str(name)[:100]} in sys.modules")
        for hooks in ("meta_path", "path_hooks"):
            known = _SNAPSHOT[hooks]
            for hook in _list(_getattr(_sys, hooks, [])):
                if [item for item in known if item is hook]:
                    continue
                kind = hook if _type(hook) is _type or _type(hook) is types.FunctionType else _type(hook)
                if _getattr(kind, "__module__", None) not in _modules or _getattr(kind, "__module__", None) == "__main__":
                    _tampered(f"added an import hook to sys.{hooks}")
    except BaseException:  # noqa: BLE001 (naming an attempt must never break the student's run)
        pass


class _BoundedText(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of the student's code: keeps at most ``MAX_OUTPUT`` characters
    between two replies and counts the rest, so a flood of output costs the parent nothing."""

    def __init__(self):
        self.parts: list[str] = []
        self.kept = self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = MAX_OUTPUT - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def take(self) -> str:
        text = "".join(self.parts)
        if self.dropped:
            text += f"\n[... {self.dropped} more characters of output not kept]\n"
        self.parts, self.kept, self.dropped = [], 0, 0
        return text


_STDOUT, _STDERR = _BoundedText(), _BoundedText()


class Child:
    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.handles: dict[int, object] = {}
        self.namespace: dict = {}
        self.known: dict[int, list] = {}
        self.keep: list = []
        self.roots: dict = {}

    # framing
    def receive(self):
        head = _read_exactly(self.reader, 4)
        if head is None:
            raise SystemExit(0)
        size = struct.unpack(">I", head)[0]
        child = self

        class Unpickler(pickle.Unpickler):
            def persistent_load(self, reference):
                kind, number = reference
                return child._callback(number) if kind == "callback" else child.handles.get(number)

        return Unpickler(io.BytesIO(_read_exactly(self.reader, size))).load()

    def send(self, header: dict, buffers: list[bytes] = ()) -> None:
        _check_tampering()  # every reply follows some of the student's code
        header = dict(header, refused=REFUSED[:], stdout=_STDOUT.take(), stderr=_STDERR.take())
        REFUSED.clear()
        payload = encode_message(header, list(buffers))
        self.writer.write(struct.pack(">Q", len(payload)) + payload)
        self.writer.flush()

    def send_error(self, error: BaseException, skip: int = 0) -> None:
        try:
            message = str(error)[:4000]
        except Exception:  # noqa: BLE001
            message = "<the exception's message could not be shown>"
        kind = type(error)
        # only the student's frames, whose lines are in linecache: no source file is read to report an error
        frames = [(frame.f_code.co_filename, lineno) for frame, lineno in traceback.walk_tb(error.__traceback__)][skip:]
        student = [(name, lineno, (linecache.cache.get(name, (0, 0, [""]))[2][lineno - 1:lineno] or [""])[0])
                   for name, lineno in frames if name.startswith("<cell")]
        lines = [f"  {name}, line {lineno}: {line.strip()}"[:300] for name, lineno, line in student][-8:]
        last = [student[-1][0][:50], int(student[-1][1] or 0), student[-1][2].strip()[:300]] if student else None
        self.send({"kind": "error", "type": kind.__name__[:100], "module": str(getattr(kind, "__module__", ""))[:100],
                   "message": message, "traceback": lines, "where": last})

    # values in, values out
    def _callback(self, number: int):
        child = self

        def grader_function(*args, **kwargs):
            passed = [list(args), kwargs]
            saved_known, saved_keep = dict(child.known), list(child.keep)
            child._register(passed, ["c"], set(child.known))
            encoder = _Encoder(child.known, child.handles)
            try:
                tree = encoder.encode(passed)
            finally:
                child.known, child.keep = saved_known, saved_keep + [passed]
            child.send({"kind": "callback", "id": number, "value": tree}, encoder.buffers)
            reply = child.receive()
            roots = dict(child.roots, c=passed)
            for path, state in reply.get("updates", []):
                _apply_update(roots, path, state)
            if reply["op"] == "raise":
                error_type = getattr(builtins, reply["type"], RuntimeError)
                if not (isinstance(error_type, type) and issubclass(error_type, Exception)):
                    error_type = RuntimeError
                raise error_type(reply["message"])
            return reply["value"]

        grader_function._grader_callback = number
        return grader_function

    def _register(self, value, path: list, seen: set) -> None:
        import numpy as np

        if id(value) in seen:
            return
        if isinstance(value, (np.ndarray, dict, list, np.random.Generator)):
            seen.add(id(value))
            self.known.setdefault(id(value), path)
            self.keep.append(value)
        if type(value) is dict:
            for key, item in value.items():
                if type(key) in (str, int):
                    self._register(item, path + [key], seen)
        elif type(value) in (list, tuple):
            for index, item in enumerate(value):
                self._register(item, path + [index], seen)

    def serve(self) -> None:
        self.known: dict[int, list] = {}
        self.keep: list = []
        self.send({"kind": "ready"})
        while True:
            request = self.receive()
            op = request["op"]
            if op == "run":
                self.run_cell(request["source"], request["label"])
            elif op == "get":
                self.get(request["names"])
            elif op == "call":
                self.call(request)
            else:
                self.send({"kind": "error", "type": "RuntimeError", "module": "builtins",
                           "message": f"unknown request {op!r}", "traceback": []})

    def run_cell(self, source: str, label: str) -> None:
        filename = f"<cell {label}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "exec"), self.namespace)
        except BaseException as error:  # noqa: BLE001 (SystemExit too: the cell failed, the process goes on)
            self.send_error(error, skip=1)
            return
        self.send({"kind": "ok", "value": None})

    def get(self, names: list[str]) -> None:
        encoder = _Encoder({}, self.handles)
        found = {}
        for name in names:
            if name in self.namespace:
                value = self.namespace[name]
                try:
                    found[name] = encoder.encode(value) if not callable(value) else encoder.handle(value)
                except Exception:  # noqa: BLE001
                    found[name] = encoder.handle(value)
        self.send({"kind": "ok", "value": {"t": "dict", "v": [[name, node] for name, node in found.items()]}},
                  encoder.buffers)

    def call(self, request: dict) -> None:
        target = self.handles.get(request["target"])
        self.known, self.keep = {}, []
        try:
            args, kwargs = list(request["args"]), dict(request["kwargs"])
            seen: set[int] = set()
            self.roots = {"a": args, "k": kwargs}
            self._register(args, ["a"], seen)
            self._register(kwargs, ["k"], seen)
            self.known.pop(id(args), None)
            self.known.pop(id(kwargs), None)
            result = target(*args, **kwargs)
            encoder = _Encoder(self.known, self.handles)
            tree = encoder.encode({"result": result, "args": args, "kwargs": kwargs})
        except BaseException as error:  # noqa: BLE001
            self.send_error(error, skip=1)
            return
        finally:
            self.known, self.keep = {}, []
        self.send({"kind": "ok", "value": tree}, encoder.buffers)


def _apply_update(roots: dict, path: list, state) -> None:
    """Apply the grader's change to an object the student's code passed to a grader function."""
    import numpy as np

    value = roots.get(path[0])
    try:
        for key in path[1:]:
            value = value[key]
    except (KeyError, IndexError, TypeError):
        return
    if isinstance(value, np.ndarray) and isinstance(state, np.ndarray) and value.shape == state.shape:
        if value.flags.writeable:
            np.copyto(value, state, casting="unsafe")
    elif isinstance(value, dict) and isinstance(state, dict):
        value.clear()
        value.update(state)
    elif isinstance(value, list) and isinstance(state, list):
        value[:] = state
    elif isinstance(value, np.random.Generator) and isinstance(state, tuple) and state[:1] == ("rng",):
        value.bit_generator.state = state[1]


def _read_exactly(stream, size: int):
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _set_limits(limits: dict) -> None:
    """Set the resource limits; a write past the file-size limit then ends the process (``SIGXFSZ``,
    which Python ignores by default, back to the kernel's default action), so the parent can name it."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    for name, value in limits.items():
        which = getattr(resource, name)
        soft, hard = resource.getrlimit(which)
        value = int(value)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _prepare(sys_path: list[str], setup: list[str]) -> dict:
    """Imports and the instructor's setup cells (trusted code, before any lock); return the namespace."""
    sys.path[:0] = sys_path
    import warnings

    warnings.simplefilter("ignore")
    import ctypes  # noqa: F401 (loaded before the audit hook forbids ctypes)

    import numpy  # noqa: F401
    import numpy.testing  # noqa: F401 (loaded now, so that replacing its functions is seen as tampering)

    builtins.get_ipython = lambda: _NoShell()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for number, source in enumerate(setup):  # the instructor's imports
        try:
            exec(compile(source, f"<setup {number}>", "exec"), namespace)
        except Exception:  # noqa: BLE001 (the student's cells will fail the same way; nothing to hide)
            pass
    return namespace


def _close_inherited(keep: set[int]) -> None:
    """Close every descriptor but 0, 1, 2 and ``keep``: the student's code inherits nothing of the grader's."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _load_confine():
    """``confine.py`` beside this file, loaded by its path (this script imports no package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_dlopt_confine", os.path.join(os.path.dirname(__file__), "confine.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _serve(config: dict, namespace: dict, confine=None) -> None:
    """Lock this process down and answer the parent on descriptors 0 (requests) and 1 (replies)."""
    scratch = config["scratch"]
    os.chdir(scratch)
    for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        os.environ[name] = scratch if name != "MPLCONFIGDIR" else os.path.join(scratch, "mpl")
    import tempfile

    tempfile.tempdir = scratch
    sys.dont_write_bytecode = True
    # the protocol's pipes move to private descriptors; 0, 1 and 2 point at /dev/null; nothing else stays open
    reader = io.open(os.dup(0), "rb", buffering=0)
    writer = io.open(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    _close_inherited({reader.fileno(), writer.fileno()})
    sys.stdin = io.StringIO()
    sys.stdout, sys.stderr = _STDOUT, _STDERR
    child = Child(reader, writer)
    child.namespace = namespace
    global _REPORT
    _REPORT = lambda: child.send({"kind": "refused"})  # noqa: E731
    policy = config["policy"]
    if config.get("confine", True):
        confine = confine or _load_confine()
        confine.confine(policy["read"], policy["write"], listable=policy.get("listable", []))
    _set_limits(config.get("limits", {}))
    install_audit_hook(policy)
    _take_snapshot()
    child.serve()


def main(config_path: str) -> None:
    with open(config_path) as handle:
        config = json.load(handle)
    confine = _load_confine()
    _serve(config, _prepare(config["sys_path"], config.get("setup", [])), confine)


def zygote(config_path: str) -> None:
    """A fork server: imports and setup once, then one forked, locked-down child per request.

    Descriptor 0 is a Unix socket to the grader. A request is a JSON object ``{"config": path}`` sent with
    two descriptors (the child's request and reply pipes); the answer is ``{"pid": N}`` and a newline. When a
    child ends, the zygote reaps it and sends ``{"exited": N, "code": C}`` (``C < 0``: killed by signal ``-C``).
    The zygote itself never runs a student's code and never locks itself (it must be able to fork); it
    exits when the grader closes the socket.
    """
    import signal
    import socket

    with open(config_path) as handle:
        config = json.load(handle)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    confine = _load_confine()
    namespace = _prepare(config["sys_path"], config.get("setup", []))
    control = socket.socket(fileno=os.dup(0))
    os.dup2(null, 0)

    def reap(*_) -> None:  # each child's end goes to the grader: a kill by the kernel (SIGSYS) is an incident
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            try:
                control.sendall(json.dumps({"exited": pid, "code": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
            except OSError:
                return

    signal.signal(signal.SIGCHLD, reap)
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        with open(request["config"]) as handle:
            child_config = json.load(handle)
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setsid()
                os.dup2(fds[0], 0)
                os.dup2(fds[1], 1)
                for fd in fds:
                    os.close(fd)
                _serve(child_config, namespace, confine)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        control.sendall(json.dumps({"pid": pid}).encode() + b"\n")


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        zygote(sys.argv[2])
    else:
        main(sys.argv[1])
