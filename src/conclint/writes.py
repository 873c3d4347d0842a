"""Writing fixed files without ever losing a byte the user wrote.

``write_fixed`` replaces a file's content as a careful editor does:

* The new bytes go to a temporary file in the target's directory (an unnamed one where
  the system offers ``O_TMPFILE``, so a process killed mid-write leaves nothing behind),
  are synced, and are renamed over the target: readers see the old file or the new one,
  never a torn one, and a full disk leaves the original intact.
* Compare-and-swap at the last moment: after the temporary file is complete, right before
  the rename, the target must still be the same inode, size, mtime and content conclint
  fixed. A save that landed meanwhile wins; the fix is refused and reported. The names are
  then swapped atomically (Linux's ``RENAME_EXCHANGE``) and the original checked once more;
  where a file system cannot swap (macOS, NFS, FUSE), the target is renamed aside, checked,
  and the fix linked in, which fails if a save took the name meanwhile (``_replace_by_link``).
* Permissions as an editor honours them: a file the user may not write is not replaced; a
  file owned by someone else is not replaced unless its owner can be kept (root); owner,
  mode bits (setuid/setgid included) and extended attributes carry over, or nothing is
  written; a file with several hard links is refused (renaming over it would split them).
* Temporary files carry this process's id in their name (``.NAME.PID.RANDOM.conclint-tmp``):
  they are removed on any exception or caught signal, and ``sweep_stale`` removes those
  whose process is gone.

Everything that stops a write raises ``WriteRefused`` with ``path: not fixed: why``.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import time
from pathlib import Path
from typing import Any, Iterable, List, Literal, Optional, Tuple, overload

from conclint.testhooks import no_exchange, pause

TEMP_SUFFIX = ".conclint-tmp"
_TEMP_RE = re.compile(r"^\..+\.(\d+)\.[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")
_READ_LIMIT = 64 * 1024 * 1024
# A temporary file lives for the milliseconds of one write; one this old is stranded even
# if its process id was reused since.
_STALE_AFTER = 3600


class WriteRefused(Exception):
    """The fix was not written; the message says which file and why."""


def write_fixed(path: str, data: bytes, *, expected: bytes, root: Optional[Path] = None) -> bool:
    """Replace the content of ``path`` (holding ``expected``) by ``data``; False when it
    already holds ``data``. A symbolic link is written through to its target, but not when
    that lies outside ``root``."""
    target = os.path.realpath(path)
    if root is not None and target != os.path.abspath(path):
        top = os.path.realpath(root)
        if target != top and not target.startswith(top.rstrip(os.sep) + os.sep):
            raise WriteRefused(f"{path}: not fixed: it is a symbolic link to {target}, outside {root}")
    before = _check_target(path, target)
    original = _open_same(path, target, before)
    try:
        current = _read(path, original)
    finally:
        os.close(original)
    if current == data:
        return False
    if current != expected:
        raise _changed(path)
    directory, base = os.path.split(target)
    fd, name = _open_temp(directory, base)
    original = -1
    try:
        _fill(fd, data, path, target, before)
        original = _last_check(path, target, before, expected)
        if name is None:
            # Named only now, right before the rename: the one moment a kill can strand it.
            name = _link_temp(fd, directory, base)
            if name is None:  # the file system cannot name unnamed files: write a named one
                os.close(fd)
                fd = -1
                fd, name = _open_temp(directory, base, named=True)
                _fill(fd, data, path, target, before)
        pause("swap")
        if _exchange(name, target):
            # ``swapped`` now holds the original: it goes once known to hold no save.
            swapped, name = name, None
            _after_exchange(path, target, swapped, original, before, expected)
            _unlink(swapped)
        else:
            _replace_by_link(path, target, name, original, before, expected, data)
    finally:
        for descriptor in (fd, original):
            if descriptor >= 0:
                os.close(descriptor)
        if name is not None:
            _unlink(name)
    return True


def _fill(fd: int, data: bytes, path: str, target: str, before: os.stat_result) -> None:
    """The new content, synced, with the original's owner, mode and extended attributes."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.fsync(fd)
    _copy_metadata(path, target, fd, before)


def _last_check(path: str, target: str, before: os.stat_result, expected: bytes) -> int:
    """Compare before the swap: the file must still be what conclint fixed. Returns a
    descriptor of it, kept open across the rename for ``_after_replace``."""
    pause("check")
    now = _check_target(path, target)
    if _identity(now) != _identity(before):
        raise _changed(path)
    fd = _open_same(path, target, before)
    try:
        if _read(path, fd) != expected:
            raise _changed(path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _exchange(new: str, target: str) -> bool:
    """Swap the two names atomically (Linux's renameat2 with RENAME_EXCHANGE); False where the
    system or the file system cannot."""
    global _RENAMEAT2
    if no_exchange():
        return False
    if _RENAMEAT2 is None:
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _RENAMEAT2 = getattr(libc, "renameat2", False)
        except OSError:
            _RENAMEAT2 = False
    if not _RENAMEAT2:
        return False
    at_cwd, exchange = -100, 2  # AT_FDCWD, RENAME_EXCHANGE
    if _RENAMEAT2(at_cwd, os.fsencode(new), at_cwd, os.fsencode(target), exchange) == 0:
        return True
    import ctypes

    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(error, os.strerror(error), target)


_RENAMEAT2: Any = None


def _after_exchange(path: str, target: str, swapped: str, original: int, before: os.stat_result, expected: bytes) -> None:
    """No check-then-swap is atomic: a save may land between the last check and the swap,
    by rename (another file now stands where the original stood) or in place through a
    descriptor opened before the swap. Either reached the file now at ``swapped``: then the
    two are swapped back, so the save, and whatever its writer still writes through that
    descriptor, stays at ``target``."""
    try:
        st = os.lstat(swapped)
        unchanged = (st.st_dev, st.st_ino) == (before.st_dev, before.st_ino) and _unsaved(path, original, st, before, expected)
    except OSError:
        unchanged = False
    if not unchanged:
        if not _exchange(swapped, target):
            raise WriteRefused(f"{path}: the file was saved while conclint replaced it; that save is in {swapped}")
        _unlink(swapped)  # the fix, swapped out again
        raise _changed(path)


def _replace_by_link(
    path: str, target: str, name: str, original: int, before: os.stat_result, expected: bytes, data: bytes
) -> None:
    """Where names cannot be swapped (macOS, NFS, most FUSE file systems): a rename over the
    target would destroy a save renamed there after the last check. So the target is first
    renamed aside (atomic: whatever stands there, the original or a save, moves), checked,
    and the fix linked in its place, which fails if a save created the name again meanwhile.
    A save that moved aside is put back; the name is missing for those few system calls."""
    directory, base = os.path.split(target)
    # Not a temporary file's name: ``sweep_stale`` must never take what may be the user's file.
    aside = os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}{ASIDE_SUFFIX}")
    os.rename(target, aside)
    try:
        moved = os.lstat(aside)
        if _identity(moved)[:2] != _identity(before)[:2] or not _unsaved(path, original, moved, before, expected):
            _put_back(path, aside, target)
            raise _changed(path)
        if not _place(name, target):
            _unlink(aside)  # the original, unchanged: the file now standing at the name wins
            raise _changed(path)
    except WriteRefused:
        raise
    except BaseException:
        if not os.path.lexists(target):  # interrupted: the original back where it was
            os.rename(aside, target)
        raise
    try:
        _after_replace(path, target, original, before, expected, data)
    except WriteRefused:
        _unlink(aside)  # the save is back at the name, or in the rescue file the message names
        raise
    except Exception:
        # The save could be put neither back nor in a rescue file: it stays in ``aside``
        # (and on an interrupt here, too: kept, never deleted).
        raise WriteRefused(f"{path}: the file was saved while conclint replaced it; that save is in {aside}") from None
    _unlink(aside)


ASIDE_SUFFIX = ".conclint-aside"


def _place(name: str, target: str) -> bool:
    """Give the new file the target's name unless a file stands there; False if one does."""
    try:
        os.link(name, target)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EMLINK):
            raise
    # A file system without hard links (FAT): the name checked right before the rename.
    if os.path.lexists(target):
        return False
    os.rename(name, target)
    return True


def _put_back(path: str, aside: str, target: str) -> None:
    """Return a save moved aside to the target's name; if yet another file stands there,
    the save stays aside and the message says where."""
    try:
        os.link(aside, target)
    except FileExistsError:
        raise WriteRefused(f"{path}: the file was saved while conclint replaced it; that save is in {aside}") from None
    except OSError:
        if os.path.lexists(target):
            raise WriteRefused(f"{path}: the file was saved while conclint replaced it; that save is in {aside}") from None
        os.rename(aside, target)
        return
    _unlink(aside)


def _after_replace(path: str, target: str, original: int, before: os.stat_result, expected: bytes, data: bytes) -> None:
    """Where names cannot be swapped: a save that opened the file before the rename and wrote
    it after the last check is seen through the replaced file, still open here, and its
    content is put back in place of the fix (a writer still writing then is not followed)."""
    if _unsaved(path, original, os.fstat(original), before, expected):
        return
    saved = _read(path, original)
    try:
        _write_back(path, target, saved, data, before)
    except (OSError, WriteRefused):
        rescue = f"{target}.conclint-rescued"
        with open(rescue, "wb") as handle:
            handle.write(saved)
        raise WriteRefused(
            f"{path}: the file was saved while conclint replaced it; that save is in {rescue}"
        ) from None
    raise _changed(path)


def _unsaved(path: str, original: int, st: os.stat_result, before: os.stat_result, expected: bytes) -> bool:
    """Whether the original (open as ``original``, its status ``st`` now) is as conclint read
    it: no save reached it."""
    return (st.st_size, st.st_mtime_ns) == (before.st_size, before.st_mtime_ns) and _read(path, original) == expected


def _write_back(path: str, target: str, saved: bytes, data: bytes, before: os.stat_result) -> None:
    """Put ``saved`` back at ``target``, which must still hold conclint's ``data``."""
    directory, base = os.path.split(target)
    name: Optional[str]
    fd, name = _open_temp(directory, base, named=True)
    try:
        _fill(fd, saved, path, target, before)
        with open(target, "rb") as handle:
            if handle.read() != data:
                raise WriteRefused(f"{path}: changed again")
        os.replace(name, target)
        name = None
    finally:
        os.close(fd)
        if name is not None:
            _unlink(name)


def _changed(path: str) -> WriteRefused:
    return WriteRefused(f"{path}: not fixed: the file changed while conclint was fixing it (run again)")


def _check_target(path: str, target: str) -> os.stat_result:
    """The target's status; raises unless it is a regular file this user may replace."""
    try:
        st = os.lstat(target)
    except OSError as exc:
        raise WriteRefused(f"{path}: not fixed: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise WriteRefused(f"{path}: not fixed: no longer a regular file")
    if st.st_nlink > 1:
        raise WriteRefused(
            f"{path}: not fixed: it has {st.st_nlink} hard links, which replacing it would split"
        )
    root = os.geteuid() == 0
    if not root and not os.access(target, os.W_OK):
        raise WriteRefused(f"{path}: not fixed: you may not write it (permission denied)")
    if root and not st.st_mode & 0o222:  # root may write anything: the mode still says "read-only"
        raise WriteRefused(f"{path}: not fixed: it is read-only (no write permission for anyone)")
    if not root and st.st_uid != os.geteuid():
        raise WriteRefused(
            f"{path}: not fixed: it belongs to another user (uid {st.st_uid}), whose ownership "
            "replacing it would take"
        )
    return st


def _identity(st: os.stat_result) -> Tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _open_same(path: str, target: str, st: os.stat_result) -> int:
    """A descriptor of ``target``, which must still be the file ``st`` describes."""
    # O_NONBLOCK: a FIFO swapped in after the lstat must not block the open.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        raise WriteRefused(f"{path}: not fixed: cannot read it again: {exc.strerror or exc}") from None
    now = os.fstat(fd)
    if not stat.S_ISREG(now.st_mode):
        os.close(fd)
        raise WriteRefused(f"{path}: not fixed: no longer a regular file")
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
        os.close(fd)
        raise _changed(path)
    return fd


def _read(path: str, fd: int) -> bytes:
    """The whole content behind ``fd``, from its start."""
    chunks: List[bytes] = []
    size = 0
    while True:
        chunk = os.pread(fd, 1 << 20, size)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > _READ_LIMIT:
            raise WriteRefused(f"{path}: not fixed: it grew past {_READ_LIMIT // (1024 * 1024)} MiB meanwhile")
        chunks.append(chunk)


def _temp_name(directory: str, base: str) -> str:
    return os.path.join(directory, f".{base}.{os.getpid()}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


@overload
def _open_temp(directory: str, base: str, named: Literal[True]) -> Tuple[int, str]:
    ...


@overload
def _open_temp(directory: str, base: str, named: bool = False) -> Tuple[int, Optional[str]]:
    ...


def _open_temp(directory: str, base: str, named: bool = False) -> Tuple[int, Optional[str]]:
    """A file for the new content: unnamed (``O_TMPFILE``) where possible, else named."""
    tmpfile = 0 if named else getattr(os, "O_TMPFILE", 0)
    if tmpfile:
        try:
            return os.open(directory, tmpfile | os.O_WRONLY, 0o600), None
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise _cannot_write(directory, exc) from None
    for _ in range(16):
        name = _temp_name(directory, base)
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600), name
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_write(directory, exc) from None
    raise WriteRefused(f"{directory}: not fixed: cannot create a temporary file")


def _link_temp(fd: int, directory: str, base: str) -> Optional[str]:
    """A name for the unnamed file (for the rename); None where the system cannot give one
    (no /proc, or a file system such as overlayfs that refuses the link)."""
    try:
        # A directory descriptor makes CPython call linkat() with AT_SYMLINK_FOLLOW (plain
        # link() would link the /proc entry itself, and fail).
        directory_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        for _ in range(16):
            name = _temp_name(directory, base)
            try:
                os.link(f"/proc/self/fd/{fd}", os.path.basename(name), dst_dir_fd=directory_fd, follow_symlinks=True)
                return name
            except FileExistsError:
                continue
            except (OSError, NotImplementedError):
                return None
        return None
    finally:
        os.close(directory_fd)


def _cannot_write(directory: str, exc: OSError) -> WriteRefused:
    return WriteRefused(f"{directory}: not fixed: cannot write a file here: {exc.strerror or exc}")


def _copy_metadata(path: str, target: str, fd: int, st: os.stat_result) -> None:
    """Owner, then mode (chown clears setuid/setgid), then extended attributes (ACLs are
    among them); what cannot be kept stops the write."""
    try:
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            os.fchown(fd, st.st_uid, st.st_gid)
        os.fchmod(fd, stat.S_IMODE(st.st_mode))
    except OSError as exc:
        raise WriteRefused(f"{path}: not fixed: cannot keep its owner and mode: {exc.strerror or exc}") from None
    if not hasattr(os, "listxattr"):
        return
    try:
        names = os.listxattr(target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise WriteRefused(f"{path}: not fixed: cannot read its extended attributes: {exc.strerror or exc}") from None
    for name in names:
        try:
            os.setxattr(fd, name, os.getxattr(target, name, follow_symlinks=False))
        except OSError as exc:
            raise WriteRefused(
                f"{path}: not fixed: cannot keep its extended attribute {name}: {exc.strerror or exc}"
            ) from None


def _unlink(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass


def sweep_stale(directories: Iterable[str]) -> int:
    """Remove the temporary files of conclint runs that were killed while writing (their
    process is gone) from ``directories``; returns how many were removed."""
    removed = 0
    for directory in set(directories):
        try:
            entries = list(os.scandir(directory or "."))
        except OSError:
            continue
        for entry in entries:
            match = _TEMP_RE.match(entry.name)
            if match is None:
                continue
            try:
                stale = not _alive(int(match.group(1))) or time.time() - entry.stat(follow_symlinks=False).st_mtime > _STALE_AFTER
                if stale and entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
