"""Kernel-enforced confinement of the process that runs a student's code.

One module because the three layers below are one policy: the system-call numbers, the Landlock rights
and the seccomp program name the same calls and must agree, so a reviewer reads them side by side.

:func:`confine` locks the calling process behind three layers that the **Linux kernel** enforces on every
system call. Nothing the student does in Python (patching modules, ``ctypes``, hand-written machine code)
can lift them, and they are inherited by every thread:

1. **No privileges.** ``no_new_privs`` (no later ``execve`` can grant privileges, e.g. via set-uid
   programs) and empty capability sets. A process running as uid 0 then loses what makes root powerful:
   bypassing file permissions, tracing other processes, mounting, loading kernel modules, ...
2. **Landlock**, an access control the process imposes on itself. Every filesystem right the running
   kernel knows is *handled*, so whatever no rule grants is refused: paths under ``read`` can be read and
   listed, paths under ``write`` can also be written, created, truncated and removed, and nothing else can
   even be opened. TCP ``bind``/``connect`` are refused; on kernels with Landlock ABI >= 6 so are signals
   and abstract unix sockets reaching processes outside the sandbox.
3. **seccomp**: a small BPF program the kernel runs on each system call. Calls that have no business in
   a grading sandbox kill the whole process with ``SIGSYS``: starting programs or processes, creating
   sockets, reading or tracing other processes, signalling any other process, namespaces and mounts,
   kernel keyrings, io_uring, BPF, module loading, ...

What this does *not* cover (the caller's job): Landlock checks access when a file is *opened*, so file
descriptors opened before :func:`confine` keep their access; and Landlock (up to ABI 7) does not gate
``stat``, ``chmod``, ``utime`` or extended attributes of files the process can name.

This module uses only the standard library (``ctypes`` for the system calls): it is loaded by file path
into a ``python -I -S`` process, so it must not import the course package.
"""

from __future__ import annotations

import ctypes
import errno
import os
import stat

__all__ = ["ConfinementError", "probe", "cover", "confine"]


class ConfinementError(RuntimeError):
    """The kernel refused a confinement step; the process must not run untrusted code."""


# ------------------------------------------------------------------------------------------------
# kernel constants (include/uapi/linux/{prctl,capability,landlock,seccomp,filter,audit}.h)

PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_GET_SECCOMP = 24, 22, 21
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
CAP_SETPCAP, CAPABILITY_VERSION_3 = 8, 0x20080522

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
FS_MAKE_SYM, FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
# rights that make sense on a regular file (the others only apply to folders)
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
SECCOMP_MODE_FILTER, SECCOMP_GET_ACTION_AVAIL = 2, 2
CLONE_THREAD = 0x00010000
X32_SYSCALL_BIT = 0x40000000
# classic BPF opcodes: load a 32-bit word of seccomp_data, compare, return
BPF_LD_W_ABS, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_RET = 0x20, 0x15, 0x35, 0x45, 0x06
OFF_NR, OFF_ARCH, OFF_ARG0_LO, OFF_ARG0_HI = 0, 4, 16, 20  # little-endian struct seccomp_data

# ------------------------------------------------------------------------------------------------
# system-call numbers (arch/x86/entry/syscalls/syscall_64.tbl, include/uapi/asm-generic/unistd.h)

_COMMON_NEW = {  # numbers from 424 on are the same on every architecture
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "pidfd_open": 434, "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    "quotactl_fd": 443, "landlock_create_ruleset": 444, "landlock_add_rule": 445,
    "landlock_restrict_self": 446, "fchmodat2": 452, "setxattrat": 463, "removexattrat": 466,
    "open_tree_attr": 467,
}
SYSCALLS = {
    "x86_64": dict(_COMMON_NEW, **{
        "socket": 41, "socketpair": 53, "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62,
        "capget": 125, "capset": 126, "rt_sigqueueinfo": 129, "mknod": 133, "ptrace": 101, "syslog": 103,
        "pivot_root": 155, "chroot": 161, "acct": 163, "mount": 165, "umount2": 166, "swapon": 167,
        "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176,
        "quotactl": 179, "tkill": 200, "tgkill": 234, "kexec_load": 246, "add_key": 248, "request_key": 249,
        "keyctl": 250, "migrate_pages": 256, "mknodat": 259, "unshare": 272, "move_pages": 279,
        "rt_tgsigqueueinfo": 297, "perf_event_open": 298, "fanotify_init": 300, "prlimit64": 302,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310,
        "process_vm_writev": 311, "kcmp": 312, "finit_module": 313, "seccomp": 317, "kexec_file_load": 320,
        "bpf": 321, "execveat": 322, "userfaultfd": 323, "chmod": 90, "fchmod": 91, "chown": 92, "fchown": 93,
        "lchown": 94, "utime": 132, "utimes": 235, "futimesat": 261, "fchownat": 260, "fchmodat": 268,
        "utimensat": 280, "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197,
        "lremovexattr": 198, "fremovexattr": 199, "setpriority": 141, "sched_setparam": 142,
        "sched_setscheduler": 144, "sched_setaffinity": 203, "ioprio_set": 251, "sched_setattr": 314,
    }),
    "aarch64": dict(_COMMON_NEW, **{  # no fork, vfork, mknod, iopl, ioperm on this architecture
        "mknodat": 33, "umount2": 39, "mount": 40, "pivot_root": 41, "chroot": 51, "quotactl": 60,
        "acct": 89, "capget": 90, "capset": 91, "unshare": 97, "kexec_load": 104, "init_module": 105,
        "delete_module": 106, "syslog": 116, "ptrace": 117, "kill": 129, "tkill": 130, "tgkill": 131,
        "rt_sigqueueinfo": 138, "reboot": 142, "socket": 198, "socketpair": 199, "add_key": 217,
        "request_key": 218, "keyctl": 219, "clone": 220, "execve": 221, "swapon": 224, "swapoff": 225,
        "migrate_pages": 238, "move_pages": 239, "rt_tgsigqueueinfo": 240, "perf_event_open": 241,
        "prlimit64": 261, "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
        "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272, "finit_module": 273,
        "seccomp": 277, "bpf": 280, "execveat": 281, "userfaultfd": 282, "kexec_file_load": 294,
        "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15, "fremovexattr": 16,
        "fchmod": 52, "fchmodat": 53, "fchownat": 54, "fchown": 55, "utimensat": 88, "setpriority": 140,
        "sched_setparam": 118, "sched_setscheduler": 119, "sched_setaffinity": 122, "ioprio_set": 30,
        "sched_setattr": 274,
    }),
}
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}

# Killed outright. Processes and programs: the sandbox is one process. Sockets: no network and no talking
# to other local services. Tracing / reading other processes' memory or descriptors. Namespaces, mounts,
# chroot: ways to re-arrange the filesystem view. Keyrings, BPF, perf, io_uring, userfaultfd: large kernel
# attack surface (io_uring would also bypass this filter). File handles: open files by inode, around paths.
# Device nodes, swap, modules, kexec, reboot, accounting, quota, kernel log: administration.
KILLED = (
    "fork", "vfork", "socket", "socketpair", "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "process_madvise", "tkill",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "open_tree", "open_tree_attr",
    "move_mount", "fsopen", "fsmount", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "fanotify_init", "move_pages", "migrate_pages",
    "iopl", "ioperm", "mknod", "mknodat",
)
EXEC = ("execve", "execveat")
# Refused with EPERM (not killed: copying a file into the scratch folder may try them). Landlock does not
# govern a file's mode, owner, times or extended attributes, and the process may own files it can name
# (the grader's own, when it runs as the grader's user): it must not make them unreadable or readable by all.
# Scheduling too: priorities, CPU affinity and I/O priority may name any process of the same user (the
# grader, the other students' processes), so none of them may be changed.
UNCHANGEABLE = (
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "utime", "utimes",
    "futimesat", "utimensat", "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
    "fremovexattr", "setxattrat", "removexattrat",
    "setpriority", "sched_setparam", "sched_setscheduler", "sched_setaffinity", "sched_setattr", "ioprio_set",
)
SELF_OR_GROUP = ("kill", "prlimit64")  # first argument: own pid, or 0 for "myself / my process group"
SELF_ONLY = ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")  # first argument: own pid

# ------------------------------------------------------------------------------------------------
# thin ctypes layer

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _arg(value):
    return ctypes.c_long(value) if isinstance(value, int) else value


def _syscall(arch: str, name: str, *args) -> int:
    """Call a system call by name; raise ConfinementError naming it and the errno on failure."""
    result = _libc.syscall(ctypes.c_long(SYSCALLS[arch][name]), *map(_arg, args))
    if result == -1:
        raise _error(name, ctypes.get_errno())
    return result


def _prctl(what: str, option: int, arg2: int = 0, arg3: int = 0, ignore: tuple = ()) -> int:
    result = _libc.prctl(ctypes.c_int(option), *(ctypes.c_ulong(a) for a in (arg2, arg3, 0, 0)))
    if result == -1:
        code = ctypes.get_errno()
        if code in ignore:
            return -1
        raise _error(f"prctl({what})", code)
    return result


def _error(step: str, code: int) -> ConfinementError:
    name = errno.errorcode.get(code, str(code))
    return ConfinementError(f"{step} failed: {name} ({os.strerror(code)})")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# ------------------------------------------------------------------------------------------------
# probe

_probed: dict | None = None


def probe() -> dict:
    """Report what this kernel offers without changing the calling process (the result is cached).

    ``{"landlock_abi": int, "seccomp": bool, "arch": str, "problems": [str, ...]}``; an empty
    ``problems`` list means :func:`confine` can work here. Only queries that change no state are used:
    Landlock's version query and seccomp's "is this filter action available" query.
    """
    global _probed
    if _probed is None:
        _probed = _probe()
    return dict(_probed, problems=list(_probed["problems"]))


def _probe() -> dict:
    arch, problems, abi, seccomp = os.uname().machine, [], 0, False
    if arch not in SYSCALLS:
        problems.append(f"unsupported architecture {arch!r}: no system-call table for the seccomp filter")
    # landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) returns the ABI version
    version = _libc.syscall(ctypes.c_long(444), None, ctypes.c_long(0), ctypes.c_long(1))
    if version >= 1:
        abi = int(version)
    else:
        code = ctypes.get_errno()
        why = {errno.ENOSYS: "the kernel is built without Landlock",
               errno.EOPNOTSUPP: "Landlock is disabled (it is missing from the lsm= boot parameter)"}
        problems.append(f"Landlock unavailable: {why.get(code, os.strerror(code))}")
    if _libc.prctl(ctypes.c_int(PR_GET_SECCOMP), *(ctypes.c_ulong(0) for _ in range(4))) < 0:
        problems.append(f"seccomp unavailable: prctl(PR_GET_SECCOMP): {os.strerror(ctypes.get_errno())}")
    elif arch in SYSCALLS:
        action = ctypes.c_uint32(SECCOMP_RET_KILL_PROCESS)
        if _libc.syscall(ctypes.c_long(SYSCALLS[arch]["seccomp"]), ctypes.c_long(SECCOMP_GET_ACTION_AVAIL),
                         ctypes.c_long(0), ctypes.byref(action)) == 0:
            seccomp = True
        else:
            problems.append("seccomp filters unavailable: seccomp(SECCOMP_GET_ACTION_AVAIL, KILL_PROCESS): "
                            + os.strerror(ctypes.get_errno()))
    return {"landlock_abi": abi, "seccomp": seccomp, "arch": arch, "problems": problems}


# ------------------------------------------------------------------------------------------------
# cover: turn "these roots except those folders" into a list of Landlock rule paths

def cover(roots: list[str], excluded: list[str]) -> list[str]:
    """Paths whose union is the union of ``roots`` minus everything under an ``excluded`` path.

    Landlock can only *grant* access beneath a path, never carve a hole into a granted folder, so a root
    that strictly contains an excluded path is replaced by its entries (recursively), leaving out the
    excluded ones. A root that is itself inside (or equal to) an excluded path is kept: naming it
    explicitly wins (e.g. a virtual environment inside an excluded course folder). Paths must be real
    (symlink-free); only folders that must be split are listed (without following symlinks).
    """
    excluded = sorted({os.path.normpath(path) for path in excluded})
    found: set[str] = set()
    for root in roots:
        _split(os.path.normpath(root), excluded, found)
    return sorted(found)


def _strictly_under(path: str, folder: str) -> bool:
    return path != folder and path.startswith(folder.rstrip("/") + "/")


def _split(path: str, excluded: list[str], found: set[str]) -> None:
    inside = [e for e in excluded if _strictly_under(e, path)]
    if not inside:
        found.add(path)
        return
    try:
        entries = list(os.scandir(path))
    except (FileNotFoundError, NotADirectoryError):
        return  # nothing there to grant
    for entry in entries:
        child = os.path.join(path, entry.name)
        if child in inside:
            continue
        if entry.is_dir(follow_symlinks=False) and any(_strictly_under(e, child) for e in inside):
            _split(child, inside, found)
        else:
            found.add(child)


# ------------------------------------------------------------------------------------------------
# pure planning: which Landlock rights, which BPF program

def landlock_rights(abi: int, deny_exec: bool = True) -> tuple[int, int, int, int, int]:
    """``(handled_fs, handled_net, scoped, read_rights, write_rights)`` for a Landlock ABI version.

    Handling a right means "refused unless a rule grants it". Never granted: making symlinks (they could
    point anywhere and be followed by the grader), sockets, fifos and device nodes, re-parenting files
    across folders (``refer``), ioctl on devices, and (when ``deny_exec``) executing files.
    """
    handled = (1 << 13) - 1  # ABI 1: execute ... make_sym
    handled |= FS_REFER if abi >= 2 else 0
    handled |= FS_TRUNCATE if abi >= 3 else 0
    handled |= FS_IOCTL_DEV if abi >= 5 else 0
    net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    read = FS_READ_FILE | FS_READ_DIR | (0 if deny_exec else FS_EXECUTE)
    write = read | FS_WRITE_FILE | FS_TRUNCATE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG
    return handled, net, scoped, read & handled, write & handled


def seccomp_program(arch: str, pid: int, deny_exec: bool = True) -> list[tuple[int, int, int, int]]:
    """The seccomp BPF program as ``(code, jt, jf, k)`` instructions (see the module docstring).

    Order: wrong architecture (e.g. 32-bit system calls from a 64-bit process) or x32 numbers -> kill;
    listed calls -> kill; changes of a file's mode, owner, times or attributes -> EPERM; ``clone`` only for threads; ``clone3`` -> ENOSYS (its flags live in memory the
    filter cannot read; the C library then falls back to ``clone``); signals and resource limits only for
    the process itself; everything else allowed.
    """
    nr = SYSCALLS[arch]
    killed = sorted({nr[name] for name in KILLED + (EXEC if deny_exec else ()) if name in nr})
    prog: list = [(BPF_LD_W_ABS, None, None, OFF_ARCH), (BPF_JEQ, None, "kill", AUDIT_ARCH[arch]),
                  (BPF_LD_W_ABS, None, None, OFF_NR)]
    if arch == "x86_64":
        prog.append((BPF_JGE, "kill", None, X32_SYSCALL_BIT))
    prog += [(BPF_JEQ, "kill", None, number) for number in killed]
    prog += [(BPF_JEQ, "eperm", None, number) for number in sorted({nr[name] for name in UNCHANGEABLE if name in nr})]
    prog += [(BPF_JEQ, "clone", None, nr["clone"]), (BPF_JEQ, "enosys", None, nr["clone3"])]
    prog += [(BPF_JEQ, "self_or_group", None, nr[name]) for name in SELF_OR_GROUP]
    prog += [(BPF_JEQ, "self", None, nr[name]) for name in SELF_ONLY]
    prog += [(BPF_RET, None, None, SECCOMP_RET_ALLOW),
             "clone", (BPF_LD_W_ABS, None, None, OFF_ARG0_LO), (BPF_JSET, "allow", "kill", CLONE_THREAD),
             "self_or_group", (BPF_LD_W_ABS, None, None, OFF_ARG0_HI), (BPF_JEQ, None, "kill", 0),
             (BPF_LD_W_ABS, None, None, OFF_ARG0_LO), (BPF_JEQ, "allow", "pid", 0),
             "self", (BPF_LD_W_ABS, None, None, OFF_ARG0_HI), (BPF_JEQ, None, "kill", 0),
             (BPF_LD_W_ABS, None, None, OFF_ARG0_LO),
             "pid", (BPF_JEQ, "allow", "kill", pid),
             "allow", (BPF_RET, None, None, SECCOMP_RET_ALLOW),
             "kill", (BPF_RET, None, None, SECCOMP_RET_KILL_PROCESS),
             "enosys", (BPF_RET, None, None, SECCOMP_RET_ERRNO | errno.ENOSYS),
             "eperm", (BPF_RET, None, None, SECCOMP_RET_ERRNO | errno.EPERM)]
    return _assemble(prog)


def _assemble(items: list) -> list[tuple[int, int, int, int]]:
    """Resolve label names (strings in the list) into the forward jump offsets classic BPF uses."""
    where, count = {}, 0
    for item in items:
        if isinstance(item, str):
            where[item] = count
        else:
            count += 1
    out = []
    for code, jt, jf, k in (item for item in items if not isinstance(item, str)):
        here = len(out)
        offsets = [0 if label is None else where[label] - here - 1 for label in (jt, jf)]
        if not all(0 <= o <= 255 for o in offsets):
            raise ConfinementError("seccomp program too long for a BPF jump")
        out.append((code, offsets[0], offsets[1], k))
    return out


# ------------------------------------------------------------------------------------------------
# confine

def confine(read: list[str], write: list[str], *, listable: list[str] = (), deny_exec: bool = True) -> None:
    """Confine the calling process, irreversibly (see the module docstring for what is enforced).

    ``read``: folders and files readable (with everything beneath); ``write``: writable too; ``listable``:
    folders whose entries may be listed (and those of every folder beneath), but no file of them read
    unless ``read`` says so -- a folder that :func:`cover` split around something it must not read.

    Call it in a freshly forked, single-threaded process: Landlock restricts only the calling thread and
    the threads it starts later. Paths that do not exist are skipped. Raises :class:`ConfinementError`
    naming the failing system call; after an error the process must exit instead of running student code.
    """
    info = probe()
    if info["problems"]:
        raise ConfinementError("cannot confine on this machine: " + "; ".join(info["problems"]))
    arch, abi = info["arch"], info["landlock_abi"]
    try:
        if len(os.listdir("/proc/self/task")) != 1:
            raise ConfinementError("confine() must be called by a single-threaded process")
    except OSError:
        pass  # no /proc: cannot tell
    try:  # read before Landlock hides /proc
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last_cap = int(f.read())
    except (OSError, ValueError):
        last_cap = 40
    handled, net, scoped, read_rights, write_rights = landlock_rights(abi, deny_exec)
    program = seccomp_program(arch, os.getpid(), deny_exec)
    rules = _open_rules([(p, read_rights) for p in read] + [(p, write_rights) for p in write]
                        + [(p, FS_READ_DIR) for p in listable])
    try:
        _drop_privileges(arch, last_cap)
        _restrict_self(arch, abi, handled, net, scoped, rules)
    finally:
        for fd, _ in rules:
            os.close(fd)
    _install_filter(program)


def _open_rules(wanted: list[tuple[str, int]]) -> list[tuple[int, int]]:
    """Open each existing path with O_PATH; regular files only get the rights that apply to files."""
    rules: list[tuple[int, int]] = []
    try:
        for path, rights in wanted:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                raise ConfinementError(f"open({path!r}, O_PATH) for a Landlock rule failed: {exc}") from exc
            rules.append((fd, rights if stat.S_ISDIR(os.fstat(fd).st_mode) else rights & FILE_RIGHTS))
    except BaseException:
        for fd, _ in rules:
            os.close(fd)
        raise
    return rules


def _drop_privileges(arch: str, last_cap: int) -> None:
    """no_new_privs, then empty bounding, ambient, effective, permitted and inheritable capability sets."""
    _prctl("PR_SET_NO_NEW_PRIVS", PR_SET_NO_NEW_PRIVS, 1)
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _syscall(arch, "capget", ctypes.byref(header), ctypes.byref(data))
    if data[0].effective & (1 << CAP_SETPCAP):  # without CAP_SETPCAP (not root) the bounding set is fixed,
        for cap in range(last_cap + 1):          # and no_new_privs already makes it irrelevant
            _prctl(f"PR_CAPBSET_DROP, {cap}", PR_CAPBSET_DROP, cap, ignore=(errno.EINVAL,))
    _prctl("PR_CAP_AMBIENT_CLEAR_ALL", PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, ignore=(errno.EINVAL,))
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    _syscall(arch, "capset", ctypes.byref(header), ctypes.byref(data))
    _syscall(arch, "capget", ctypes.byref(header), ctypes.byref(data))
    if any(d.effective or d.permitted or d.inheritable for d in data):
        raise ConfinementError("capset() left capabilities in place")


def _restrict_self(arch: str, abi: int, handled: int, net: int, scoped: int, rules) -> None:
    attr = _RulesetAttr(handled, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24  # the struct grew with the ABI
    ruleset = _syscall(arch, "landlock_create_ruleset", ctypes.byref(attr), size, 0)
    try:
        for fd, rights in rules:
            rule = _PathBeneath(rights, fd)
            _syscall(arch, "landlock_add_rule", ruleset, 1, ctypes.byref(rule), 0)  # 1: PATH_BENEATH
        _syscall(arch, "landlock_restrict_self", ruleset, 0)
    finally:
        os.close(ruleset)


def _install_filter(program: list[tuple[int, int, int, int]]) -> None:
    instructions = (_SockFilter * len(program))(*(_SockFilter(*ins) for ins in program))
    fprog = _SockFprog(len(program), instructions)
    _prctl("PR_SET_SECCOMP", PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
