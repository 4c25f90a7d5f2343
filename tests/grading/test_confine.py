"""Kernel-enforced confinement (``instructor/dlopt_course/isolation/confine.py``), attacked for real.

Each test starts a fresh ``python -I -S`` child that loads ``confine.py`` by file path (exactly as the
sandbox does), confines itself and then attacks; the parent judges the outcome. Most attacks also run
once *without* confinement (the "control"), which proves the refusal comes from the confinement and not
from file permissions: run as root, every one of them succeeds unconfined.

The file also runs without pytest (``python test_confine.py``): :func:`test_unprivileged_user` uses that to
run the whole suite once more as an unprivileged throwaway user.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import traceback
import uuid
from contextlib import contextmanager
from pathlib import Path

try:
    import pytest
except ImportError:  # the unprivileged run uses a bare system interpreter
    pytest = None

MODULE = Path(os.environ.get("DLOPT_CONFINE_MODULE")
              or Path(__file__).resolve().parents[2] / "instructor/dlopt_course/isolation/confine.py")
SIGSYS = int(signal.SIGSYS)
TEST_USER = "dlopt-confine-test"

# syscall numbers typed independently of the module under test (a shared typo would hide a hole)
NR = {
    "x86_64": {"ptrace": 101, "process_vm_readv": 310, "unshare": 272, "mount": 165, "bpf": 321,
               "io_uring_setup": 425, "pidfd_open": 434, "keyctl": 250, "tkill": 200, "clone3": 435,
               "getpid": 39, "x32_getpid": 0x40000000 | 39, "capget": 125},
    "aarch64": {"ptrace": 117, "process_vm_readv": 270, "unshare": 97, "mount": 40, "bpf": 280,
                "io_uring_setup": 425, "pidfd_open": 434, "keyctl": 219, "tkill": 130, "clone3": 435,
                "getpid": 172, "capget": 90},
}.get(platform.machine(), {})


def _load_module():
    spec = importlib.util.spec_from_file_location("dlopt_confine_under_test", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


confinement = _load_module()


class _Skipped(Exception):
    pass


def _skip(reason: str):
    if pytest is not None:
        pytest.skip(reason)
    raise _Skipped(reason)


def _parametrize(name: str, values):
    def decorate(function):
        function._params = (name, list(values))
        return pytest.mark.parametrize(name, list(values))(function) if pytest else function
    return decorate


def _require_kernel():
    problems = confinement.probe()["problems"]
    if problems:
        _skip("this kernel cannot confine: " + "; ".join(problems))


# ------------------------------------------------------------------------------------------------
# the child process

PRELUDE = '''
import ctypes, errno, importlib.util, json, os, resource, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
ARGS = json.loads(sys.argv[1])
T, NR = ARGS["tree"], ARGS["nr"]
_spec = importlib.util.spec_from_file_location("dlopt_confine", ARGS["module"])
confinement = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(confinement)
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
RESULTS = {}

def syscall(name, *args):
    args = [ctypes.c_long(a) if isinstance(a, int) else a for a in args]
    result = libc.syscall(ctypes.c_long(NR[name]), *args)
    return result, (ctypes.get_errno() if result == -1 else 0)

def attempt(name, action):
    try:
        action()
    except OSError as exc:
        RESULTS[name] = errno.errorcode.get(exc.errno, str(exc.errno))
    else:
        RESULTS[name] = "ok"

def read(path, **kw):
    fd = os.open(path, os.O_RDONLY, **kw)
    try:
        return os.read(fd, 1000).decode()
    finally:
        os.close(fd)
'''
CONFINE = '''
if ARGS["confine"]:
    confinement.confine(ARGS["read"], ARGS["write"], deny_exec=ARGS["deny_exec"])
print("CONFINED" if ARGS["confine"] else "CONTROL", flush=True)
'''
EPILOGUE = '''
print("SURVIVED", flush=True)
print(json.dumps(RESULTS), flush=True)
'''


def _read_roots() -> list[str]:
    """What a Python process needs to keep importing: the standard library and shared libraries."""
    platstdlib = sysconfig.get_path("platstdlib")
    return sorted({sysconfig.get_path("stdlib"), platstdlib, os.path.join(platstdlib, "lib-dynload"),
                   "/usr/lib", "/lib", "/lib64", "/usr/lib64", "/etc/ld.so.cache"})


def _make_tree(base: Path) -> dict:
    base = Path(os.path.realpath(base))
    secret, allowed, scratch = base / "secret", base / "allowed", base / "scratch"
    for folder in (secret, allowed, allowed / "empty", scratch):
        folder.mkdir(parents=True)
    (secret / "data.txt").write_text("top secret")
    (secret / "delete_me.txt").write_text("x")
    (allowed / "notes.txt").write_text("allowed")
    for name in ("rename_me.txt", "move_me.txt", "link_me.txt", "truncate_me.txt", "append_me.txt"):
        (allowed / name).write_text("read-only")
    (scratch / "pre_link").symlink_to(secret / "data.txt")
    tree = {"base": base, "secret": secret, "secret_file": secret / "data.txt", "allowed": allowed,
            "allowed_file": allowed / "notes.txt", "scratch": scratch}
    assert not any(str(base).startswith(root.rstrip("/") + "/") for root in _read_roots())
    return {key: str(value) for key, value in tree.items()}


def _run(tree: dict, body: str, *, setup: str = "", confine: bool = True, deny_exec: bool = True,
         read: list[str] | None = None, write: list[str] | None = None, **extra) -> subprocess.CompletedProcess:
    args = {"module": str(MODULE), "tree": tree, "nr": NR, "confine": confine, "deny_exec": deny_exec,
            "read": _read_roots() + [tree["allowed"], "/nonexistent/dlopt"] if read is None else read,
            "write": [tree["scratch"]] if write is None else write, **extra}
    code = "\n".join([PRELUDE, textwrap.dedent(setup), CONFINE, textwrap.dedent(body), EPILOGUE])
    return subprocess.run([sys.executable, "-I", "-S", "-c", code, json.dumps(args)],
                          capture_output=True, text=True, timeout=120)


def _results(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, f"child failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout.splitlines()[-1])


@contextmanager
def _victim():
    """A bystander process of the same user: the confined child must not be able to touch it."""
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", "import time; time.sleep(300)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _status(field: str) -> str:
    with open("/proc/self/status") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith(field + ":")), "")


# ------------------------------------------------------------------------------------------------
# probe, tables, program

def test_probe_reports_usable_kernel():
    before = (_status("NoNewPrivs"), _status("Seccomp"), _status("CapEff"))
    info = confinement._probe()  # uncached: really query the kernel
    assert (_status("NoNewPrivs"), _status("Seccomp"), _status("CapEff")) == before  # caller untouched
    assert set(info) == {"landlock_abi", "seccomp", "arch", "problems"}
    assert info["arch"] == platform.machine()
    assert info["landlock_abi"] >= 1 and info["seccomp"] is True
    assert info["problems"] == []
    cached = confinement.probe()
    cached["problems"].append("mutated by the caller")
    assert confinement.probe()["problems"] == []


def test_syscall_tables_match_kernel_headers():
    headers = {"x86_64": ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
               "aarch64": ["/usr/include/asm-generic/unistd.h"]}
    assert not {"fork", "vfork", "mknod", "iopl", "ioperm"} & set(confinement.SYSCALLS["aarch64"])
    checked = 0
    for arch, candidates in headers.items():
        table = confinement.SYSCALLS[arch]
        assert len(set(table.values())) == len(table), f"duplicate numbers in the {arch} table"
        path = next((p for p in candidates if os.path.exists(p)), None)
        if path is None:
            continue
        defined = {m[1]: int(m[2]) for m in re.finditer(r"#define __NR_(\w+)\s+(\d+)", Path(path).read_text())}
        for name, number in table.items():
            if name in defined:
                assert defined[name] == number, f"{arch} {name}: {number} != {defined[name]} in {path}"
                checked += 1
        # only calls newer than these headers (Linux 6.1 knows numbers below 451) may be missing from them
        assert all(name in defined for name, number in table.items() if number < 451), arch
    if not checked:
        _skip("no kernel headers to compare the system-call tables with")


def test_seccomp_program_assembles_for_every_architecture():
    for arch in confinement.SYSCALLS:
        names = confinement.KILLED + confinement.EXEC + confinement.SELF_OR_GROUP + confinement.SELF_ONLY
        missing = {n for n in names if n not in confinement.SYSCALLS[arch]}
        assert missing <= {"fork", "vfork", "mknod", "iopl", "ioperm"}, (arch, missing)
        program = confinement.seccomp_program(arch, 4242)
        assert 20 < len(program) < 4096
        assert program[0] == (0x20, 0, 0, 4)  # load seccomp_data.arch
        assert program[1][0] == 0x15 and program[1][3] == confinement.AUDIT_ARCH[arch]
        assert all(0 <= jt <= 255 and 0 <= jf <= 255 for _, jt, jf, _ in program)
        with_exec = confinement.seccomp_program(arch, 4242, deny_exec=False)
        assert len(with_exec) == len(program) - 2


# ------------------------------------------------------------------------------------------------
# cover

def _cover_tree(tmp_path: Path) -> Path:
    base = Path(os.path.realpath(tmp_path))
    for folder in ("course/secret", "course/pkg/inner/deep_secret", "course/venv/site-packages", "other"):
        (base / folder).mkdir(parents=True)
    for file in ("course/a.txt", "course/pkg/mod.py", "course/pkg/inner/keep.txt", "course/secret/x"):
        (base / file).write_text("")
    (base / "course/link").symlink_to(base / "other")
    return base


def test_cover_splits_roots_around_excluded_paths(tmp_path):
    b = _cover_tree(tmp_path)
    c = str(b / "course")
    assert confinement.cover([c], [c + "/secret"]) == [c + "/a.txt", c + "/link", c + "/pkg", c + "/venv"]
    assert confinement.cover([c + "/", c], [c + "/pkg/inner/deep_secret/"]) == [
        c + "/a.txt", c + "/link", c + "/pkg/inner/keep.txt", c + "/pkg/mod.py", c + "/secret", c + "/venv"]
    # two exclusions at once; nothing of either survives
    got = confinement.cover([str(b)], [c + "/secret", c + "/pkg"])
    assert got == [c + "/a.txt", c + "/link", c + "/venv", str(b / "other")]


def test_cover_keeps_explicit_and_unrelated_roots(tmp_path):
    b = _cover_tree(tmp_path)
    c = str(b / "course")
    venv = c + "/venv/site-packages"
    assert confinement.cover([venv, str(b / "other")], [c]) == [venv, str(b / "other")]
    assert confinement.cover([c + "/secret"], [c + "/secret"]) == [c + "/secret"]
    assert confinement.cover([str(b / "other")], [c + "/secret"]) == [str(b / "other")]
    # explicit root inside one excluded folder still loses a deeper excluded folder
    assert confinement.cover([c + "/pkg"], [c, c + "/pkg/inner"]) == [c + "/pkg/mod.py"]
    assert confinement.cover([str(b / "missing")], [str(b / "missing/x")]) == []
    assert confinement.cover([], [c]) == []


def test_cover_result_confines(tmp_path):
    _require_kernel()
    tree = _make_tree(tmp_path)
    read = confinement.cover([tree["base"]], [tree["secret"]])
    proc = _run(tree, '''
        RESULTS["allowed"] = read(T["allowed_file"])
        attempt("secret", lambda: read(T["secret_file"]))
        attempt("list secret", lambda: os.listdir(T["secret"]))
    ''', read=_read_roots() + read, write=[])
    assert _results(proc) == {"allowed": "allowed", "secret": "EACCES", "list secret": "EACCES"}


# ------------------------------------------------------------------------------------------------
# filesystem

FILE_ATTACKS = '''
    attempt("read secret by absolute path", lambda: read(T["secret_file"]))
    attempt("open / for reading", lambda: os.close(os.open("/", os.O_RDONLY)))
    attempt("list /", lambda: os.listdir("/"))
    attempt("list secret folder", lambda: os.listdir(T["secret"]))
    attempt("read secret via O_PATH dir fd opened before", lambda: read("secret/data.txt", dir_fd=path_fd))
    attempt("read secret via O_RDONLY dir fd opened before", lambda: read("secret/data.txt", dir_fd=dir_fd))
    attempt("read secret via /proc/self/root", lambda: read("/proc/self/root" + T["secret_file"]))
    attempt("read secret via /proc/self/fd", lambda: read(f"/proc/self/fd/{secret_fd}/data.txt"))
    attempt("read through symlink made before", lambda: read(T["scratch"] + "/pre_link"))
    attempt("create symlink to secret", lambda: os.symlink(T["secret_file"], T["scratch"] + "/new_link"))
    attempt("read through new symlink", lambda: read(T["scratch"] + "/new_link"))
    attempt("write secret", lambda: open(T["secret_file"], "a").close())
    attempt("delete secret", lambda: os.unlink(T["secret"] + "/delete_me.txt"))
    attempt("create file outside scratch", lambda: open(T["base"] + "/dropped.txt", "x").close())
    attempt("create file in read-only folder", lambda: open(T["allowed"] + "/dropped.txt", "x").close())
    attempt("make folder outside scratch", lambda: os.mkdir(T["base"] + "/new_folder"))
    attempt("append to readable file", lambda: open(T["allowed"] + "/append_me.txt", "a").close())
    attempt("truncate readable file", lambda: os.truncate(T["allowed"] + "/truncate_me.txt", 0))
    attempt("rename in read-only folder", lambda: os.rename(T["allowed"] + "/rename_me.txt", T["allowed"] + "/r"))
    attempt("move readable file into scratch", lambda: os.rename(T["allowed"] + "/move_me.txt", T["scratch"] + "/m"))
    attempt("remove read-only folder", lambda: os.rmdir(T["allowed"] + "/empty"))
    attempt("hard-link secret into scratch",
            lambda: os.link("data.txt", "stolen.txt", src_dir_fd=secret_fd, dst_dir_fd=scratch_fd))
    attempt("hard-link readable file into scratch", lambda: os.link(T["allowed"] + "/link_me.txt", T["scratch"] + "/l"))
    attempt("make the secret readable by all", lambda: os.chmod(T["secret_file"], 0o777))
    attempt("make a readable file unreadable", lambda: os.chmod(T["allowed"] + "/append_me.txt", 0))
    attempt("chmod through a descriptor", lambda: os.chmod(secret_fd_file, 0o777))
    attempt("change the secret's owner", lambda: os.chown(T["secret_file"], 65534, 65534))
    attempt("change the secret's times", lambda: os.utime(T["secret_file"], (0, 0)))
    attempt("set an extended attribute", lambda: os.setxattr(T["allowed"] + "/append_me.txt", "user.x", b"1"))
'''
FILE_SETUP = '''
    path_fd = os.open(T["base"], os.O_PATH)  # the secret folder's parent, opened before confinement
    dir_fd = os.open(T["base"], os.O_RDONLY | os.O_DIRECTORY)
    secret_fd = os.open(T["secret"], os.O_PATH)
    scratch_fd = os.open(T["scratch"], os.O_PATH)
    secret_fd_file = os.open(T["secret_file"], os.O_RDONLY)  # a file descriptor opened before confinement
'''


def test_file_attacks_are_refused(tmp_path):
    _require_kernel()
    control = _results(_run(_make_tree(tmp_path / "control"), FILE_ATTACKS, setup=FILE_SETUP, confine=False))
    # an ordinary user may not give files away, and a file system may not take user attributes: those two
    # attacks prove something only where they succeed unconfined (as root, on this machine's /tmp)
    may_fail = {"change the secret's owner", "set an extended attribute"} if os.geteuid() != 0 else set()
    assert control and all(outcome == "ok" or attack in may_fail for attack, outcome in control.items()), control
    tree = _make_tree(tmp_path / "confined")
    confined = _results(_run(tree, FILE_ATTACKS, setup=FILE_SETUP))
    assert confined.keys() == control.keys()
    for attack, outcome in confined.items():
        expected = {"ENOENT"} if attack == "read through new symlink" else {"EACCES", "EPERM", "EXDEV"}
        assert outcome in expected, f"{attack}: {outcome}"
    assert sorted(os.listdir(tree["base"])) == ["allowed", "scratch", "secret"]
    assert sorted(os.listdir(tree["scratch"])) == ["pre_link"]
    assert sorted(os.listdir(tree["secret"])) == ["data.txt", "delete_me.txt"]
    assert Path(tree["allowed"], "truncate_me.txt").read_text() == "read-only"
    assert len(os.listdir(tree["allowed"])) == 7


SCHEDULING_ATTACKS = '''
    attempt("lower a bystander's priority", lambda: os.setpriority(os.PRIO_PROCESS, ARGS["victim"], 19))
    attempt("pin a bystander to one CPU", lambda: os.sched_setaffinity(ARGS["victim"], {0}))
    attempt("make a bystander idle", lambda: os.sched_setscheduler(ARGS["victim"], os.SCHED_IDLE, os.sched_param(0)))
'''


def test_the_scheduling_of_other_processes_cannot_be_changed(tmp_path):
    """Priorities and CPU affinity may name any process of the same user: the grader's, a classmate's."""
    _require_kernel()
    with _victim() as victim:
        control = _results(_run(_make_tree(tmp_path / "control"), SCHEDULING_ATTACKS, confine=False,
                                victim=victim.pid))
    assert control and all(outcome == "ok" for outcome in control.values()), control
    with _victim() as victim:
        confined = _results(_run(_make_tree(tmp_path / "confined"), SCHEDULING_ATTACKS, victim=victim.pid))
        assert all(outcome == "EPERM" for outcome in confined.values()), confined
        assert os.getpriority(os.PRIO_PROCESS, victim.pid) == os.getpriority(os.PRIO_PROCESS, 0)
        assert os.sched_getscheduler(victim.pid) == os.sched_getscheduler(0)


def test_allowed_work_still_works(tmp_path):
    _require_kernel()
    tree = _make_tree(tmp_path)
    proc = _run(tree, setup='''
        import importlib
        EXTENSIONS = [name for name in ("_bz2", "_decimal", "_lzma") if name not in sys.modules
                      and (spec := importlib.util.find_spec(name)) and (spec.origin or "").endswith(".so")]
        PURE = [name for name in ("colorsys", "textwrap", "fractions") if name not in sys.modules]
    ''', body='''
        import signal, threading, resource
        RESULTS["read"] = read(T["allowed_file"])
        RESULTS["listdir"] = sorted(os.listdir(T["allowed"]))
        s = T["scratch"]
        with open(s + "/out.txt", "w") as f:
            f.write("hello")
        with open(s + "/out.txt", "a") as f:
            f.write(" world")
        os.truncate(s + "/out.txt", 5)
        os.rename(s + "/out.txt", s + "/renamed.txt")
        os.mkdir(s + "/sub")
        with open(s + "/sub/x", "w") as f:
            f.write("x")
        os.remove(s + "/sub/x")
        os.rmdir(s + "/sub")
        RESULTS["scratch"] = [read(s + "/renamed.txt"), sorted(os.listdir(s))]
        for name in EXTENSIONS + PURE:
            importlib.import_module(name)
        RESULTS["imported"] = [EXTENSIONS, PURE]
        box = []
        thread = threading.Thread(target=box.append, args=("from thread",))
        thread.start()
        thread.join()
        RESULTS["thread"] = box
        os.kill(os.getpid(), 0)
        got = []
        signal.signal(signal.SIGUSR1, lambda *_: got.append("raise_signal"))
        signal.raise_signal(signal.SIGUSR1)
        signal.signal(signal.SIGUSR2, lambda *_: got.append("kill self"))
        os.kill(os.getpid(), signal.SIGUSR2)
        RESULTS["signals"] = got
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 512), min(hard, 512)))
        resource.prlimit(os.getpid(), resource.RLIMIT_NOFILE)
        RESULTS["clone3"] = syscall("clone3", None, 0)[1]
        header, data = (ctypes.c_uint32 * 2)(0x20080522, 0), (ctypes.c_uint32 * 6)()
        syscall("capget", ctypes.byref(header), ctypes.byref(data))
        RESULTS["capabilities"] = list(data)
        prctl = libc.prctl
        RESULTS["no_new_privs"] = prctl(39, 0, 0, 0, 0)  # PR_GET_NO_NEW_PRIVS
        RESULTS["seccomp_mode"] = prctl(21, 0, 0, 0, 0)  # PR_GET_SECCOMP
        RESULTS["bounding_set"] = [cap for cap in range(41) if prctl(23, cap, 0, 0, 0) == 1]  # PR_CAPBSET_READ
        RESULTS["urandom"] = len(os.urandom(8))
    ''')
    r = _results(proc)
    assert r["read"] == "allowed"
    assert "notes.txt" in r["listdir"]
    assert r["scratch"] == ["hello", ["pre_link", "renamed.txt"]]
    extensions, pure = r["imported"]
    assert extensions, "no lazily loaded C extension module to test dlopen() with"
    assert pure
    assert r["thread"] == ["from thread"]
    assert r["signals"] == ["raise_signal", "kill self"]
    assert r["clone3"] == 38  # ENOSYS from the filter: the C library falls back to clone()
    assert r["capabilities"] == [0] * 6
    assert r["no_new_privs"] == 1 and r["seccomp_mode"] == 2
    if os.geteuid() == 0:
        assert r["bounding_set"] == []
    assert r["urandom"] == 8


def test_exec_right_is_enforced_by_landlock(tmp_path):
    _require_kernel()
    tree = _make_tree(tmp_path)
    true = shutil.which("true") or "/bin/true"
    # deny_exec=False: execve passes seccomp, Landlock still refuses programs outside `read`
    proc = _run(tree, 'attempt("exec outside read", lambda: os.execv(ARGS["true"], ["true"]))',
                deny_exec=False, true=true)
    assert _results(proc) == {"exec outside read": "EACCES"}
    bin_dirs = [os.path.dirname(true), os.path.dirname(os.path.realpath(true))]
    proc = _run(tree, 'os.execv(ARGS["true"], ["true"])', deny_exec=False, true=true,
                read=_read_roots() + bin_dirs)
    assert proc.returncode == 0 and "SURVIVED" not in proc.stdout, proc.stderr


def test_confine_refuses_a_multithreaded_process(tmp_path):
    _require_kernel()
    tree = _make_tree(tmp_path)
    proc = _run(tree, "", setup='''
        import threading, time
        threading.Thread(target=time.sleep, args=(30,), daemon=True).start()
        try:
            confinement.confine(ARGS["read"], ARGS["write"])
        except confinement.ConfinementError as exc:
            RESULTS["error"] = str(exc)
        ARGS["confine"] = False
    ''')
    assert "single-threaded" in _results(proc)["error"]


# ------------------------------------------------------------------------------------------------
# network

def test_network_is_refused_by_landlock(tmp_path):
    _require_kernel()
    abi = confinement.probe()["landlock_abi"]
    if abi < 4:
        _skip(f"Landlock ABI {abi} has no network rules")
    tree = _make_tree(tmp_path)
    server = socket.create_server(("127.0.0.1", 0))
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    name = "\0dlopt-confine-" + uuid.uuid4().hex
    abstract.bind(name)
    abstract.listen()
    setup = '''
        import socket
        tcp_connect, tcp_bind = socket.socket(), socket.socket()  # created before confinement
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    '''
    body = '''
        attempt("tcp connect", lambda: tcp_connect.connect(("127.0.0.1", ARGS["port"])))
        attempt("tcp bind", lambda: tcp_bind.bind(("127.0.0.1", 0)))
        attempt("abstract unix connect", lambda: unix.connect(ARGS["abstract"]))
    '''
    try:
        extra = {"port": server.getsockname()[1], "abstract": name}
        control = _results(_run(tree, body, setup=setup, confine=False, **extra))
        confined = _results(_run(tree, body, setup=setup, **extra))
    finally:
        server.close()
        abstract.close()
    assert set(control.values()) == {"ok"}, control
    assert confined["tcp connect"] == "EACCES" and confined["tcp bind"] == "EACCES", confined
    if abi >= 6:
        assert confined["abstract unix connect"] == "EPERM", confined


# ------------------------------------------------------------------------------------------------
# system calls that kill the process

KILLING = {
    "os.fork": "pid = os.fork()\nif pid == 0:\n    os._exit(0)\nos.waitpid(pid, 0)",
    "subprocess.run": "import subprocess\nsubprocess.run(['/bin/true'])",
    "os.posix_spawn": "os.waitpid(os.posix_spawn('/bin/true', ['true'], {}), 0)",
    "os.execv": "os.execv('/bin/true', ['true'])",
    "os.mkfifo": "os.mkfifo(T['scratch'] + '/fifo')",
    "socket.socket": "import socket\nsocket.socket()",
    "socket.socketpair": "import socket\nsocket.socketpair()",
    "kill victim": "os.kill(ARGS['victim'], ARGS['sig'])",
    "kill parent": "os.kill(os.getppid(), ARGS['sig'])",
    "kill every process": "os.kill(-1, 0)",
    "kill own process group": "os.killpg(os.getpgid(0), 0)",
    "tkill": "import threading\nsyscall('tkill', threading.get_native_id(), 0)",
    "ptrace victim": "syscall('ptrace', 0x4206, ARGS['victim'], 0, 0)",  # PTRACE_SEIZE
    "ptrace parent": "syscall('ptrace', 0x4206, os.getppid(), 0, 0)",
    "process_vm_readv": "syscall('process_vm_readv', ARGS['victim'], None, 0, None, 0, 0)",
    "pidfd_open": "syscall('pidfd_open', os.getppid(), 0)",
    "unshare user namespace": "syscall('unshare', 0x10000000)",
    "mount": "syscall('mount', None, None, None, 0, None)",
    "bpf": "syscall('bpf', -1, None, 0)",
    "io_uring_setup": "syscall('io_uring_setup', 1, None)",
    "keyctl": "syscall('keyctl', 0, -3, 0)",
    "x32 system call": "syscall('x32_getpid')",
}


@_parametrize("attack", sorted(KILLING))
def test_forbidden_system_call_kills(tmp_path, attack):
    _require_kernel()
    body = KILLING[attack]
    needed = set(re.findall(r"syscall\('(\w+)'", body))
    if not needed <= set(NR):
        _skip(f"no test syscall numbers for {needed - set(NR)} on {platform.machine()}")
    with _victim() as victim:  # control: the attack works (harmless signal 0 to the parent)
        control = _run(_make_tree(tmp_path / "control"), body, confine=False, victim=victim.pid,
                       sig=0 if "parent" in attack else int(signal.SIGTERM))
    assert control.returncode == 0, f"control failed:\n{control.stderr}"
    tree = _make_tree(tmp_path / "confined")
    with _victim() as victim:
        proc = _run(tree, body, victim=victim.pid, sig=int(signal.SIGTERM))
        assert victim.poll() is None, "the bystander process was hurt"
    assert proc.returncode == -SIGSYS, f"{attack}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.splitlines() == ["CONFINED"]
    assert not os.path.exists(os.path.join(tree["scratch"], "fifo"))


# ------------------------------------------------------------------------------------------------
# the same suite without root

def test_unprivileged_user(tmp_path):
    if os.geteuid() != 0:
        _skip("not root: this whole suite already runs unprivileged")
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                       check=True, capture_output=True)
    folder = Path(tempfile.mkdtemp(prefix="dlopt-confine-"))
    try:
        folder.chmod(0o755)
        shutil.copy(MODULE, folder / "confine.py")
        shutil.copy(__file__, folder / "test_confine.py")
        for file in folder.iterdir():
            file.chmod(0o644)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "LANG": "C.UTF-8",
               "DLOPT_CONFINE_MODULE": str(folder / "confine.py")}

        def usable(python):  # /root is private: the pyenv interpreter is out of reach
            return os.path.exists(python) and subprocess.run(
                [python, "-c", "pass"], user=TEST_USER, env=env, cwd=folder, capture_output=True).returncode == 0

        candidates = ["/usr/bin/python3.11", "/usr/bin/python3", "/usr/local/bin/python3", sys.executable]
        python = next((p for p in candidates if usable(p)), None)
        assert python, f"no Python interpreter the user {TEST_USER} can run among {candidates}"
        proc = subprocess.run([python, str(folder / "test_confine.py")], user=TEST_USER, env=env, cwd=folder,
                              capture_output=True, text=True, timeout=600)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0 and " 0 failed" in summary, f"{proc.stdout}\n{proc.stderr}"
    skipped = [line for line in proc.stdout.splitlines() if line.startswith("SKIP")]
    assert [line.split(":")[0] for line in skipped] == ["SKIP test_unprivileged_user"], skipped


# ------------------------------------------------------------------------------------------------
# running without pytest

def _main() -> int:
    passed = failed = skipped = 0
    for name, function in list(globals().items()):
        if not name.startswith("test_") or not callable(function):
            continue
        pname, values = getattr(function, "_params", (None, [None]))
        for value in values:
            label = name if pname is None else f"{name}[{value}]"
            kwargs = {} if pname is None else {pname: value}
            tmp = Path(tempfile.mkdtemp(prefix="confine-test-"))
            if "tmp_path" in inspect.signature(function).parameters:
                kwargs["tmp_path"] = tmp
            try:
                function(**kwargs)
            except _Skipped as exc:
                skipped += 1
                print(f"SKIP {label}: {exc}")
            except Exception:
                failed += 1
                print(f"FAIL {label}\n{traceback.format_exc()}")
            else:
                passed += 1
                print(f"PASS {label}")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    print(f"uid {os.geteuid()}: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(_main())
