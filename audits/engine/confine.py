"""The inner wall: the validation child confines itself after its imports and before it reads any
uploaded byte. Django-free; Linux only.

- capabilities: every capability is dropped (effective, permitted, inheritable, ambient and, where
  allowed, the bounding set), so a worker running as root starts its child with none;
- rlimits: no core dumps, a cap on file size, open files, CPU seconds and address space;
- Landlock (kernel LSM, ABI 1+): the filesystem becomes read-only except the run's scratch folder
  and the one events file it appends to (no new file beside it), and unreadable except the Python
  installation, the engine code, the run's own inputs and a few system files; no file may be
  executed; with ABI 4+ no TCP connect or bind; with ABI 6+ no signal to, and no abstract UNIX
  socket of, any process outside the sandbox;
- seccomp (libseccomp through pyseccomp): no socket at all (a named UNIX socket such as
  PostgreSQL's is not covered by Landlock), only AF_UNIX socket pairs; no execve/execveat, ptrace,
  process_vm_*, mount, unshare, setns, bpf, perf_event_open, keyctl, kernel modules; no setuid or
  setgid bit on any file (chmod family and file creation); no memfd or System V shared memory
  (memory the parent's resident-memory watch would not see); no new session or process group
  (which would leave the parent's kill); no rlimit change of another process; no clock, host name
  or scheduler-class change. Each fails with EPERM; a system call of another architecture
  (i386, x32) kills the process.

It never relaxes anything: each layer only removes rights, and none can be undone by the process.
Landlock is written against the kernel ABI with ctypes because the PyPI `landlock` package (a dev
release) covers filesystem rules only, not the network and scope rules used here.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
from collections.abc import Iterable
from pathlib import Path

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # same on x86_64 and aarch64
_PR_SET_NO_NEW_PRIVS = 38
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2

# Filesystem rights (linux/landlock.h) and the ABI that introduced them.
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK, FS_MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

_READ = FS_READ_FILE | FS_READ_DIR
_WRITE = (
    FS_WRITE_FILE
    | FS_REMOVE_DIR
    | FS_REMOVE_FILE
    | FS_MAKE_DIR
    | FS_MAKE_REG
    | FS_MAKE_SYM
    | FS_MAKE_FIFO
    | FS_MAKE_SOCK
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1  # the kernel's struct is packed
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    version = _libc.syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(0, int(version))


def _handled_fs(abi: int) -> int:
    rights = FS_EXECUTE | _READ | _WRITE | FS_MAKE_CHAR | FS_MAKE_BLOCK
    if abi >= 2:
        rights |= FS_REFER
    if abi >= 3:
        rights |= FS_TRUNCATE
    if abi >= 5:
        rights |= FS_IOCTL_DEV
    return rights


def apply_landlock(
    *, read: Iterable[str], write: Iterable[str], append: Iterable[str] = (), devices: Iterable[str] = ()
) -> dict:
    """Restrict this process (and anything it starts) to reading `read`, reading and writing
    `write` (folders), writing to the existing files `append` (no truncation, nothing created
    beside them), and using `devices`. Returns what was applied; raises OSError if the kernel refuses."""
    abi = landlock_abi()
    if abi < 1:
        return {"landlock": "unavailable"}
    handled = _handled_fs(abi)
    attr = _RulesetAttr(
        handled_access_fs=handled,
        handled_access_net=(NET_BIND_TCP | NET_CONNECT_TCP) if abi >= 4 else 0,
        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else (16 if abi >= 4 else 8)
    ruleset = _libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        truncate = FS_TRUNCATE if abi >= 3 else 0
        rules = (
            [(p, _READ) for p in read]
            + [(p, _READ | _WRITE | truncate | (FS_REFER if abi >= 2 else 0)) for p in write]
            + [(p, FS_WRITE_FILE) for p in append]
            + [(p, FS_READ_FILE | FS_WRITE_FILE | (FS_IOCTL_DEV if abi >= 5 else 0)) for p in devices]
        )
        allowed_paths = []
        for path, access in rules:
            if _add_path_rule(ruleset, path, access & handled):
                allowed_paths.append(path)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        if _libc.syscall(_SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return {
        "landlock": f"ABI {abi}",
        "network": "denied" if abi >= 4 else "not covered by this kernel",
        "signals": "scoped" if abi >= 6 else "not covered by this kernel",
    }


def _add_path_rule(ruleset: int, path: str, access: int) -> bool:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):  # files take file rights only
            access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
        rule = _PathBeneath(allowed_access=access, parent_fd=fd)
        if (
            _libc.syscall(
                _SYS_ADD_RULE,
                ctypes.c_int(ruleset),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
            != 0
        ):
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)
    return True


DENIED_SYSCALLS = (
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "io_uring_setup",
    "fanotify_init",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "pidfd_getfd",
    "process_madvise",
    "swapon",
    "swapoff",
    "reboot",
    "acct",
    "quotactl",
    "syslog",
    # Sockets: none at all. Landlock does not cover connecting to a named UNIX socket (PostgreSQL's
    # /var/run/postgresql/.s.PGSQL.5432 is one), so outside bubblewrap's network namespace this is
    # what keeps a payload from the database.
    "socket",
    "connect",
    "bind",
    "listen",
    "accept",
    "accept4",
    # Memory the parent's resident-memory watch does not count.
    "memfd_create",
    "memfd_secret",
    "shmget",
    "shmat",
    # Leaving the process group the parent kills; changing the machine or the scheduler class.
    "setsid",
    "setpgid",
    "sethostname",
    "setdomainname",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sched_setscheduler",
    "sched_setattr",
    "ioperm",
    "iopl",
    "vhangup",
    # openat2 takes its mode in a struct seccomp cannot read (see the setuid rules below).
    "openat2",
    "chown",
    "fchown",
    "lchown",
    "fchownat",
)
_AF_UNIX = 1
_SETUID_BITS = (0o4000, 0o2000)  # S_ISUID, S_ISGID
_O_CREAT, _O_TMPFILE = 0o100, 0o20000000
# Where each call takes the new file's mode: (syscall, argument index, the argument that holds
# open flags or None when the call always creates or changes the mode).
_MODE_ARGUMENTS = (
    ("chmod", 1, None),
    ("fchmod", 1, None),
    ("fchmodat", 2, None),
    ("fchmodat2", 2, None),
    ("creat", 1, None),
    ("mkdir", 1, None),
    ("mkdirat", 2, None),
    ("mknod", 1, None),
    ("mknodat", 2, None),
    ("open", 2, 1),
    ("openat", 3, 2),
)


def apply_seccomp() -> dict:
    """Deny the syscalls a payload needs to start programs, inspect other processes, reach the
    network, hide memory, plant a setuid file or change its own confinement. Everything else is
    allowed (the checks need it)."""
    import pyseccomp as seccomp

    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    flt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)  # i386 (int 0x80) and x32 calls

    def deny(name: str, *args) -> bool:
        try:
            flt.add_rule(seccomp.ERRNO(errno.EPERM), name, *args)
            return True
        except (RuntimeError, ValueError, OSError):
            return False  # not a syscall on this architecture (or unknown to this libseccomp)

    denied = [name for name in DENIED_SYSCALLS if deny(name)]
    # Only UNIX-domain socket pairs (the two ends stay inside the process).
    deny("socketpair", seccomp.Arg(0, seccomp.NE, _AF_UNIX))
    # rlimits of this process only (glibc's setrlimit is prlimit64 with pid 0).
    deny("prlimit64", seccomp.Arg(0, seccomp.NE, 0))
    # No setuid or setgid bit: the sandbox's files are created by the worker's user on the host,
    # which may be root. Creating calls are filtered only when they create (O_CREAT/O_TMPFILE).
    for name, mode_arg, flags_arg in _MODE_ARGUMENTS:
        for bit in _SETUID_BITS:
            if flags_arg is None:
                deny(name, seccomp.Arg(mode_arg, seccomp.MASKED_EQ, bit, bit))
            else:
                for create in (_O_CREAT, _O_TMPFILE):
                    deny(
                        name,
                        seccomp.Arg(mode_arg, seccomp.MASKED_EQ, bit, bit),
                        seccomp.Arg(flags_arg, seccomp.MASKED_EQ, create, create),
                    )
    flt.load()
    return {
        "seccomp": f"{len(denied)} syscalls denied, no sockets (AF_UNIX pairs only), no setuid bits, "
        "no memfd or shared memory"
    }


_PR_CAPBSET_DROP, _PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 24, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_capabilities() -> dict:
    """Give up every capability for good. Inside bubblewrap there are none left already; a child
    started without it by a root worker would otherwise keep all of root's."""
    for cap in range(64):  # the bounding set first: it needs CAP_SETPCAP, which the next step drops
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.EPERM):
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)  # EINVAL on kernels before 4.3
    header = _CapHeader(version=_LINUX_CAPABILITY_VERSION_3, pid=0)
    data = (_CapData * 2)()
    if _libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    status = Path("/proc/self/status").read_text()
    effective = next((line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), "?")
    if effective.strip("0") not in ("", "?"):
        raise OSError(errno.EPERM, f"capabilities remain after capset: {effective}")
    return {"capabilities": "none"}


def apply_rlimits(*, cpu_s: int, memory_mb: int, file_mb: int = 640, open_files: int = 1024) -> dict:
    """Hard limits the process cannot raise again."""
    limits = {
        resource.RLIMIT_CORE: 0,
        resource.RLIMIT_FSIZE: file_mb * 1024 * 1024,
        resource.RLIMIT_NOFILE: open_files,
        resource.RLIMIT_CPU: cpu_s,
    }
    # Address space: generous (numpy, pyarrow and onnxruntime reserve far more than they touch);
    # the parent's resident-memory watch is the precise limit, this one stops a runaway at once.
    limits[resource.RLIMIT_AS] = max(2 * memory_mb, memory_mb + 4096) * 1024 * 1024
    for which, value in limits.items():
        soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))
    return {
        "rlimits": f"cpu {cpu_s} s, address space {limits[resource.RLIMIT_AS] // 2**20} MB, "
        f"files {file_mb} MB, {open_files} open files, no core dumps"
    }


def system_read_paths() -> list[str]:
    paths = [
        "/usr",
        "/lib",
        "/lib64",
        "/lib32",
        "/bin",
        "/etc/ld.so.cache",
        "/etc/localtime",
        "/etc/alternatives",
        "/sys/devices/system/cpu",
        "/proc/self",
        "/proc/thread-self",
        "/proc/cpuinfo",
        "/proc/meminfo",
        "/proc/stat",
        "/sys/fs/cgroup/cpu.max",
    ]
    return [p for p in paths if os.path.exists(p)]


def confine(*, read: list[str], write: list[str], cpu_s: int, memory_mb: int, append: list[str] = ()) -> dict:
    """Apply every inner layer, in the order that lets each be set up (capabilities, rlimits,
    Landlock, then seccomp, which would otherwise block nothing Landlock needs but is the last word)."""
    import pyseccomp  # noqa: F401 - finds libseccomp by running ldconfig, which Landlock then forbids

    applied: dict = {}
    applied.update(drop_capabilities())
    applied.update(apply_rlimits(cpu_s=cpu_s, memory_mb=memory_mb))
    applied.update(
        apply_landlock(
            read=[*system_read_paths(), *read],
            write=write,
            append=list(append),
            devices=["/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"],
        )
    )
    applied.update(apply_seccomp())
    return applied


def code_read_paths() -> list[str]:
    """What the engine imports from: the Python installation, the virtual environment and the
    portal's engine code (its parent folder is not readable: it holds the data folder)."""
    from audits.engine.sandbox import code_paths, python_prefixes

    return [str(p) for p in (*python_prefixes(), *code_paths())]
