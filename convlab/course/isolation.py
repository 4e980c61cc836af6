"""Keep a grading kernel to its own folders: a private file-system view, a private ``/tmp``, no network.

Everything here is what Linux offers an ordinary process, with no daemon and no container
image: namespaces (``unshare(2)``) and Landlock (Linux 5.13 and later). :func:`confine` runs in
the kernel process itself, after the fork (or in the launch wrapper, before ``exec``) and
before any student code, and applies, each step only where the machine allows it:

1. **Namespaces.** A new mount and network namespace; as an ordinary user inside a new user
   namespace that maps only the user's own uid (root needs none). The network namespace holds
   only a loopback interface: nothing on the machine or beyond can be reached (the kernel talks
   to its grader over Unix sockets in its own folder). In the mount namespace ``/tmp`` and
   ``/dev/shm`` become private, empty ``tmpfs`` mounts that vanish with the kernel; the kernel's
   own folders are mounted back at their paths. Without Landlock, the course folder and the
   instructor's home are covered by empty read-only mounts (keeping the Python installation
   where it lies inside them).
2. **Landlock.** An allow-list of the whole file system: the Python installation, the packages
   the kernel has loaded, the system libraries and a few files of ``/etc`` read-only, the
   kernel's own folders (and its private ``/tmp``) read-write, nothing else. It also bars
   ``ptrace``-class access to processes outside (other kernels' memory and environment), and,
   from Landlock ABI 6, signals to them and abstract Unix sockets. Without a network namespace
   it denies TCP ``bind`` and ``connect`` (ABI 4).
3. Capabilities are dropped and ``no_new_privs`` is set, so root's kernel keeps no privilege
   it could use to undo the above.

What was achieved is returned as a record, e.g. ``{"level": "full", "filesystem":
"landlock+mount", "network": "netns", "tmp": "private"}``; the grading run writes it into each
``grading.json``. Levels: ``full`` (the Landlock allow-list and a network namespace), ``partial``
(less: namespaces alone, whose view hides the course but not the rest of the machine, or
Landlock alone, which denies TCP but not UDP) and ``none``. :func:`probe` reports what a kernel
would get on this machine.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import stat
import struct
import sys
import time

__all__ = ["MODES", "confine", "describe", "probe", "kernel_view"]

#: ``auto``: the best this machine offers, a warning when that is nothing; ``strict``: refuse to
#: grade without file-system *and* network isolation; ``off``: none (the kernel runs as the grader).
MODES = ("auto", "strict", "off")

_NR = {"x86_64": (272, 444, 445, 446), "aarch64": (97, 444, 445, 446)}  # unshare, landlock x3
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = (
    1,
    2,
    4,
    32,
    4096,
    16384,
    1 << 18,
)

# Landlock access rights (linux/landlock.h) and the ABI that introduced each group
_FS_EXECUTE, _FS_WRITE_FILE, _FS_READ_FILE, _FS_READ_DIR = 1, 2, 4, 8
_FS_ABI1 = (1 << 13) - 1  # execute ... make_sym
_FS_REFER, _FS_TRUNCATE, _FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV

#: Read-only parts of the system a Python kernel needs (those that exist).
SYSTEM_READ = (
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/opt/conda",
    "/proc",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
    "/etc/mime.types",
    "/etc/matplotlibrc",
    "/etc/fonts",
    "/etc/alternatives",
)
_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def _syscall(index: int, *args) -> int:
    numbers = _NR.get(os.uname().machine)
    if numbers is None:
        raise OSError(38, f"no system call table for {os.uname().machine}")
    libc = _libc()
    libc.syscall.restype = ctypes.c_long
    result = libc.syscall(ctypes.c_long(numbers[index]), *args)
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
    return result


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 when Landlock is absent or disabled."""
    try:
        return _syscall(1, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # ..._VERSION flag
    except OSError:
        return 0


# --------------------------------------------------------------------------- what the kernel sees


def kernel_view(write: list[str], read_files: list[str] = ()) -> dict:
    """The folders a kernel may read and write: its own, plus the Python it runs on.

    ``write`` are the kernel's own folders (its notebook's folder, its home); ``read_files`` single
    files it must read (its connection file). Read-only: the system parts of ``SYSTEM_READ``,
    the interpreter's prefixes, every ``sys.path`` folder inside them or named ``site-packages``,
    and the folder of each package already imported from elsewhere (an editable install of
    ``convlab`` exposes its package folder, not the repository around it).
    """
    read = {p for p in SYSTEM_READ if os.path.exists(p)}
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    read |= prefixes
    read.add(os.path.dirname(os.path.realpath(sys.executable)))
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if (
            real
            and os.path.exists(real)
            and (any(real.startswith(p + os.sep) for p in prefixes) or "-packages" in os.path.basename(real))
        ):
            read.add(real)
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if "." in name or not path:
            continue
        path = os.path.realpath(path)
        if any(path.startswith(p + os.sep) for p in read):
            continue
        read.add(os.path.dirname(path) if os.path.basename(path) == "__init__.py" else path)
    return {
        "read": sorted(read),
        "read_files": sorted(os.path.realpath(p) for p in read_files),
        "write": sorted(os.path.realpath(p) for p in write),
    }


# --------------------------------------------------------------------------- namespaces


def _mount(source, target, fstype, flags, data=None) -> None:
    libc = _libc()
    encode = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)):
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {target}: {os.strerror(errno)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as out:
        out.write(text)


def _unshare() -> bool:
    """New mount and network namespaces (in a new user namespace unless root). True when done."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET
    try:
        _syscall(0, ctypes.c_int(flags if uid == 0 else flags | CLONE_NEWUSER))
    except OSError:
        if uid != 0:
            return False
        try:  # root without CAP_SYS_ADMIN (a container): a user namespace may still be allowed
            _syscall(0, ctypes.c_int(flags | CLONE_NEWUSER))
        except OSError:
            return False
        uid = -1
    if uid != 0:  # map our own uid and gid only
        real_uid, real_gid = (0, 0) if uid == -1 else (uid, gid)
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{real_uid} {real_uid} 1\n")
            _write("/proc/self/gid_map", f"{real_gid} {real_gid} 1\n")
        except OSError:  # unmapped: the new namespaces hold, but mounting in them will fail
            pass
    return True


def _loopback_up() -> None:
    """Bring up ``lo`` in the new network namespace (SIOCGIFFLAGS / SIOCSIFFLAGS)."""
    import fcntl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), 0x8913, request))[1]
        fcntl.ioctl(s.fileno(), 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1 | 0x40))


def _cover(target: str, keep: list[str], flags: int, data: str) -> None:
    """Mount a fresh tmpfs on ``target`` and mount each of ``keep`` (folders under it) back."""
    fds = []
    for path in keep:  # a path that does not exist (a stale sys.path entry) has nothing to keep
        try:
            fds.append((path, os.open(path, os.O_PATH)))
        except FileNotFoundError:
            continue
    try:
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, data)
        for path, fd in fds:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.makedirs(path, exist_ok=True)
            else:  # a file is mounted back onto an empty file
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "a").close()
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if flags & MS_RDONLY:
            _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    finally:
        for _, fd in fds:
            os.close(fd)


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _private_mounts(view: dict, hide: list[str]) -> None:
    """Private /tmp and /dev/shm (own folders mounted back); ``hide`` covered read-only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    own = view["write"] + [os.path.dirname(f) for f in view["read_files"]]
    # what the kernel reads may live under /tmp too (a checkout or a virtual environment there):
    # mounted back like its own folders; Landlock, when there, keeps those read-only
    visible = own + view["read"]
    for target, data in (("/tmp", "mode=1777,size=1g"), ("/dev/shm", "mode=1777,size=256m")):
        if os.path.isdir(target):
            _cover(target, [p for p in visible if _under(p, target) and p != target], 0, data)
    for folder in hide:
        if not os.path.isdir(folder) or _under("/tmp", folder) or folder in ("/", "/usr"):
            continue
        keep = [p for p in view["read"] + own if _under(p, folder) and p != folder]
        _cover(folder, keep, MS_RDONLY, "mode=755,size=1m")


# --------------------------------------------------------------------------- Landlock


def _landlock(view: dict, abi: int, network: bool) -> None:
    """Restrict this process to ``view``; ``network``: also deny TCP bind and connect."""
    fs = _FS_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    fs |= _FS_IOCTL_DEV if abi >= 5 else 0
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if network and abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("QQQ", fs, net, scoped)[: 8 if abi < 4 else 16 if abi < 6 else 24]
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = _syscall(1, buffer, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0))
    read = _FS_EXECUTE | _FS_READ_FILE | _FS_READ_DIR
    rules = [(p, read) for p in view["read"]] + [(p, read & _FILE_RIGHTS) for p in view["read_files"]]
    rules += [(p, fs) for p in view["write"]]
    rules += [(d, (_FS_READ_FILE | _FS_WRITE_FILE | _FS_IOCTL_DEV) & fs) for d in _DEVICES]
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if not os.path.isdir(path):
                    access &= _FILE_RIGHTS
                rule = ctypes.create_string_buffer(struct.pack("=Qi", access, fd), 12)
                _syscall(2, ctypes.c_int(ruleset), ctypes.c_int(1), rule, ctypes.c_uint32(0))
            finally:
                os.close(fd)
        _libc().prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS, required to restrict oneself
        _syscall(3, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def _drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable capability sets."""
    libc = _libc()
    for cap in range(64):
        libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails harmlessly past the last one)
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    libc.capset(ctypes.create_string_buffer(header, 8), ctypes.create_string_buffer(24))


# --------------------------------------------------------------------------- the whole step


def confine(spec: dict) -> dict:
    """Confine this process as ``spec`` asks, before it runs any student code; see the module.

    ``spec`` holds ``mode`` (one of :data:`MODES`), ``write`` and ``read_files`` (see
    :func:`kernel_view`) and ``hide`` (folders to cover when Landlock is missing: the course
    and the instructor's home); ``without``, mechanisms not to use (``"landlock"``,
    ``"namespaces"``: to test the fallbacks). Must run while the process has a single thread. Returns the
    record of what was applied; raises ``OSError`` in ``strict`` mode when the result is not
    ``full``.
    """
    started = time.perf_counter()
    record = {"level": "none", "filesystem": "none", "network": "none", "tmp": "shared"}
    if spec.get("mode", "auto") == "off":
        return {**record, "setup_ms": 0.0}
    view = kernel_view(spec.get("write", []), spec.get("read_files", []))
    without = set(spec.get("without", ()))
    abi = 0 if "landlock" in without else landlock_abi()
    if "namespaces" not in without and _unshare():
        try:
            _loopback_up()
        except OSError:
            pass  # no loopback: still no network
        record["network"] = "netns"
        try:
            _private_mounts(view, [] if abi else list(spec.get("hide", [])))
            record["filesystem"], record["tmp"] = ("mount", "private")
            view["write"] += [p for p in ("/tmp", "/dev/shm") if os.path.isdir(p)]
        except OSError:
            pass
    if abi:
        try:
            _landlock(view, abi, network=record["network"] == "none")
        except OSError:
            pass
        else:
            record["filesystem"] = "landlock+mount" if record["filesystem"] == "mount" else "landlock"
            if record["tmp"] == "shared":
                record["tmp"] = "denied"
            if record["network"] == "none" and abi >= 4:
                record["network"] = "landlock-tcp"
    _drop_capabilities()
    allow_list, network = "landlock" in record["filesystem"], record["network"] == "netns"
    anything = record["network"] != "none" or record["filesystem"] != "none"
    record["level"] = "full" if allow_list and network else "partial" if anything else "none"
    record["setup_ms"] = round((time.perf_counter() - started) * 1000, 2)
    if spec.get("mode") == "strict" and record["level"] != "full":
        raise OSError(1, f"isolation is required (--isolation strict) but only {describe(record)}")
    return record


def describe(record: dict | None) -> str:
    """One line for logs and the instructor: ``"full (file system: landlock+mount, ...)"``."""
    if not record or record.get("level", "none") == "none":
        return "none"
    return (
        f"{record['level']} (file system: {record['filesystem']}, /tmp: {record['tmp']}, "
        f"network: {record['network']})"
    )


def probe(mode: str = "auto") -> dict:
    """What a grading kernel would get here: :func:`confine` run in a throw-away child process."""
    import tempfile

    if mode not in MODES:
        raise ValueError(f"`isolation` must be one of {', '.join(MODES)}; got isolation={mode!r}")
    folder = tempfile.mkdtemp(prefix="convlab-probe-")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        code = 0
        try:
            os.close(read)
            try:
                record = confine({"mode": "auto" if mode == "strict" else mode, "write": [folder]})
            except BaseException as error:  # reported to the parent
                record = {"level": "none", "error": f"{type(error).__name__}: {error}"}
            os.write(write, json.dumps(record).encode())
        finally:
            os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    os.rmdir(folder)
    try:
        return json.loads(b"".join(chunks) or b"{}") or {"level": "none"}
    except ValueError:
        return {"level": "none"}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1] if len(sys.argv) > 1 else "auto")))
