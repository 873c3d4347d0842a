"""Read a named file that must be a regular one of bounded size (configuration, baseline,
.gitignore), without ever blocking on a FIFO or reading a device without end."""

from __future__ import annotations

import os
import stat
from typing import Union

# A FIFO opened for reading waits for a writer unless opened non-blocking (no effect on
# regular files). Windows has neither FIFOs nor the flag.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class NotRegular(OSError):
    """The path names a directory, FIFO, socket or device."""


class IsDirectory(NotRegular):
    """The path names a directory."""


class TooLarge(OSError):
    """The file holds more bytes than the caller's limit."""


def read_regular(path: Union[str, "os.PathLike[str]"], limit: int) -> bytes:
    """The bytes of the regular file ``path``; raises ``OSError`` (``NotRegular`` and
    ``TooLarge`` among them, their ``strerror`` the reason) rather than block or read
    more than ``limit`` bytes."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            raise IsDirectory(0, "it is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegular(0, "not a regular file")
        if status.st_size > limit:
            raise TooLarge(0, f"file too large (over {describe_size(limit)})")
        chunks = []
        size = 0
        while size <= limit:  # not fstat's size: the file may grow while it is read
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TooLarge(0, f"file too large (over {describe_size(limit)})")
        return b"".join(chunks)
    finally:
        os.close(fd)


def describe_size(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} bytes"
