"""Reading a file a user names, safely: a regular file, opened once, never more than a cap read.

Checking a path and then reading it lets anything through that is not a plain file: ``/dev/zero`` reads
forever (a MemoryError), opening a FIFO blocks until someone writes to it (a hang), a symlink loop raises
``ELOOP`` as a traceback. Here the path is checked first (so a device is never even opened), then opened
once with ``O_NONBLOCK`` (a FIFO swapped in since cannot hang the open) and ``O_CLOEXEC``; the opened
descriptor is checked again (what was opened is what is read) and at most ``max_bytes + 1`` bytes are read,
so a file that grows while being read is still refused. Every way it can fail is an ``UnreadableFile`` with
the problem and a fix; callers put their own place (a YAML line, the command line) in front of it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import UnreadableFile

CHUNK = 1 << 20


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_kind(kind: str, expect: str) -> UnreadableFile:
    if kind == "a directory":
        return UnreadableFile("is a directory", f"name {expect}, not a folder")
    return UnreadableFile(f"is {kind}, not a regular file", f"name {expect} saved on disk")


def _too_big(size: int | None, max_bytes: int) -> UnreadableFile:
    shown = f"{size:,} bytes, " if size is not None else ""
    return UnreadableFile(f"is {shown}over the {max_bytes:,} byte limit", "split it into smaller files")


def _os_error(exc: OSError) -> UnreadableFile:
    if exc.errno == errno.ENOENT:
        return UnreadableFile("does not exist", "check the path")
    if exc.errno == errno.ELOOP:
        return UnreadableFile("is a symbolic link loop (or a chain too long to follow)",
                              "point the link at a real file, or name the file itself")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return UnreadableFile("cannot be read: permission denied", "check the file's permissions")
    if exc.errno == errno.ENOTDIR:
        return UnreadableFile("does not exist (a part of the path is not a folder)", "check the path")
    if exc.errno == errno.ENAMETOOLONG:
        return UnreadableFile("has a name too long for the file system", "check the path")
    if exc.errno == errno.ENXIO:
        return UnreadableFile("is a socket or device, not a regular file", "name a file saved on disk")
    if exc.errno == errno.EISDIR:
        return UnreadableFile("is a directory", "name a file, not a folder")
    return UnreadableFile(f"cannot be read: {exc.strerror or exc}", "check the path and permissions")


def read_capped(path: Path | str, max_bytes: int, *, expect: str = "a file") -> bytes:
    """The bytes of the regular file at ``path``, at most ``max_bytes`` of them.

    ``expect`` says what to name instead ("a .csv file") in the fix of a folder, FIFO or device.
    Raises ``UnreadableFile`` (message without the path; callers add it) for anything else.
    """
    try:
        kind = _kind(os.stat(path).st_mode)  # refuse a device before opening it: opening one can act
        if kind is not None:
            raise _refuse_kind(kind, expect)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except ValueError:  # a NUL character in the path
        raise UnreadableFile("is not a usable path (it holds a NUL character)", "check the path") from None
    except OSError as exc:
        raise _os_error(exc) from None
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)  # the file may have been swapped between the stat and the open
        if kind is not None:
            raise _refuse_kind(kind, expect)
        if info.st_size > max_bytes:
            raise _too_big(info.st_size, max_bytes)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes:
            chunk = os.read(fd, min(CHUNK, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:  # it grew while being read
            raise _too_big(None, max_bytes)
        return b"".join(chunks)
    except OSError as exc:
        raise _os_error(exc) from None
    finally:
        os.close(fd)


def read_text_capped(path: Path | str, max_bytes: int, *, expect: str = "a file") -> str:
    """``read_capped`` decoded as UTF-8 (a leading byte order mark is dropped)."""
    raw = read_capped(path, max_bytes, expect=expect)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UnreadableFile(f"is not valid UTF-8 (line {line})", "save it as UTF-8") from None
