"""Read a named file that must be a regular one of bounded size (sources, configuration,
baseline, .gitignore), without ever blocking on a FIFO or reading a device without end."""

from __future__ import annotations

import errno
import os
import stat
from typing import Optional, Union

# Reading is cheap, but not unbounded: a source file this large is not source code. (Files
# that reach the parser have a much lower limit: analysis.parsing.MAX_PARSE_BYTES.)
MAX_SOURCE_BYTES = 64 * 1024 * 1024
# A FIFO opened for reading waits for a writer unless opened non-blocking (no effect on
# regular files). Windows has neither FIFOs nor the flag.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class NotRegular(OSError):
    """The path names a directory, FIFO, socket or device."""


class IsDirectory(NotRegular):
    """The path names a directory."""


class IsLink(NotRegular):
    """The path names a symbolic link, which the caller asked not to follow."""


class TooLarge(OSError):
    """The file holds more bytes than the caller's limit (``size``: at least that many)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(0, f"file too large (over {describe_size(limit)})")
        self.size = size


def read_regular(
    path: Union[str, "os.PathLike[str]"], limit: int, *, directory: Optional[int] = None, follow: bool = True
) -> bytes:
    """The bytes of the regular file ``path`` (relative to the descriptor ``directory`` if
    given; a symbolic link is ``IsLink`` unless ``follow``); raises ``OSError`` (``NotRegular``
    and ``TooLarge`` among them, their ``strerror`` the reason) rather than block or read more
    than ``limit`` bytes."""
    flags = _OPEN_FLAGS if follow else _OPEN_FLAGS | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, dir_fd=directory)
    except OSError as exc:
        if not follow and exc.errno == errno.ELOOP:
            raise IsLink(0, "it is a symbolic link") from None
        raise
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            raise IsDirectory(0, "it is a directory")
        if not stat.S_ISREG(mode):
            raise NotRegular(0, "not a regular file")
        if status.st_size > limit:
            raise TooLarge(status.st_size, limit)
        chunks = []
        size = 0
        while size <= limit:  # not fstat's size: the file may grow while it is read
            chunk = os.read(fd, min(limit + 1 - size, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise TooLarge(size, limit)
        return b"".join(chunks)
    finally:
        os.close(fd)


def describe_size(size: int) -> str:
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20} MiB"
    if size >= 1 << 10 and size % (1 << 10) == 0:
        return f"{size >> 10} KiB"
    return f"{size} bytes"


def decode_source(data: bytes) -> str:
    """``data`` decoded as Python reads source (PEP 263 cookie or BOM, else UTF-8), never
    failing: undecodable bytes become U+FFFD."""
    import io
    import tokenize

    try:
        encoding = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        text = data.decode(encoding)
    except Exception:  # no cookie Python accepts, or a codec that fails its own way (punycode)
        text = data.decode("utf-8", "replace")
    return text.lstrip("\ufeff")
