"""Writing files safely: atomically, under a name nobody can predict, never through a symlink.

Every file brainvcs writes outside its object store (state files from
``checkout -o`` and ``export``, a working tree rewritten by ``reseal``, git
attribute files, the repository lock) goes through this module. A working
tree or a repository may come from someone else (``git clone``): a symlink
planted where brainvcs writes must never redirect the write outside the
place the user asked for, and a temporary file must not have a name another
user can guess and pre-create.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from .errors import UnsafePathError

#: Tries at a fresh temporary name before giving up (each collision is 2**-64 likely).
_TEMP_TRIES = 8


def check_no_symlinks(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> None:
    """Refuse ``path`` if it, or any directory between ``root`` and it, is a symlink.

    ``root`` itself is trusted (the user named it); ``path`` must lie below it.
    Components that do not exist yet are fine: they will be created as directories.
    """
    root_path = Path(root)
    target = Path(path)
    try:
        relative = target.relative_to(root_path)
    except ValueError:
        raise UnsafePathError(f"{target}: outside {root_path}") from None
    current = root_path
    for part in relative.parts:
        if part in ("", ".", ".."):
            raise UnsafePathError(f"{target}: the path has a {part!r} component")
        current = current / part
        try:
            info = os.lstat(current)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(info.st_mode):
            raise UnsafePathError(f"{current}: is a symbolic link; brainvcs never writes through one",
                                  "remove the link (it may have come from a hostile clone) and run the command again")


def atomic_write(path: str | os.PathLike[str], data: bytes, *, root: str | os.PathLike[str] | None = None,
                 mode: int = 0o666, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never a mix.

    The bytes go to a temporary file created with ``O_EXCL | O_NOFOLLOW`` under a
    random name in the same directory, then renamed over ``path`` (a rename
    replaces a symlink at ``path`` itself, never its target). With ``root``,
    every directory from ``root`` down to ``path`` must not be a symlink, and
    missing ones are created. ``mode`` is filtered by the umask as ``open()`` does.
    """
    target = Path(path)
    if root is not None:
        check_no_symlinks(target, root)
        target.parent.mkdir(parents=True, exist_ok=True)
        check_no_symlinks(target, root)  # a link raced in while the directories were made
    fd, temporary = _create_temporary(target, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _create_temporary(target: Path, mode: int) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TEMP_TRIES):
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
        try:
            return os.open(temporary, flags, mode), temporary
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, "could not create a temporary file", str(target.parent))


def open_regular_nofollow(path: str | os.PathLike[str], flags: int, mode: int = 0o644) -> int:
    """``os.open`` that refuses a symlink (``O_NOFOLLOW``) and anything that is not a regular file.

    Raises :class:`UnsafePathError` naming the path; the descriptor is closed on refusal.
    """
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePathError(f"{path}: is a symbolic link; brainvcs never opens one here",
                                  "remove the link and run the command again") from None
        if exc.errno == errno.EISDIR:
            raise UnsafePathError(f"{path}: is a directory, not a file",
                                  "remove or rename that directory and run the command again") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UnsafePathError(f"{path}: is not a regular file", "remove it and run the command again")
    return fd
