"""Output safety: every output path is checked before a simulation starts, and written
atomically with the user's umask once the run has finished.

The checks: not ``-`` (standard output is not an output of these commands), not a folder, in
an existing folder where this user may create files, and distinct from every input and every
other output (compared as resolved paths and, for existing files, by device and inode, so a
symlink or a hard link to an input is caught too)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UsageError

__all__ = ["check_input", "check_outputs", "atomic_write", "atomic_write_text", "temporary_sibling",
           "publish", "STDIO"]

#: the conventional name for standard input/output
STDIO = "-"


def _identity(path: Path):
    """What makes two paths the same file: (device, inode) when it exists, else its resolved
    path."""
    try:
        st = path.stat()
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", str(path.resolve()))


def check_input(path, kind: str) -> Path:
    """``path`` as an existing file to read, or :class:`UsageError` naming why not (``kind``
    says what it should be: "WAV", "MIDI")."""
    path = Path(path)
    if str(path) == STDIO:
        raise UsageError(f"reading {kind} from standard input is not supported; name a file")
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a {kind} file")
    if not path.exists():
        raise UsageError(f"{path}: no such file")
    return path


def _check_writable(path: Path, label: str) -> None:
    if str(path) == STDIO:
        raise UsageError(f"{label} '-': standard output is not supported here; name a file")
    if path.is_dir():
        raise UsageError(f"{label} {path} is a folder; name a file")
    parent = path.parent
    if not parent.exists():
        raise UsageError(f"{label} {path}: folder {parent} does not exist")
    if not parent.is_dir():
        raise UsageError(f"{label} {path}: {parent} is not a folder")
    # try it for real: permissions, read-only mounts and ACLs all show here
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".probe")
    except OSError as exc:
        raise UsageError(f"{label} {path}: cannot write in {parent} "
                         f"({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError(f"{label} {path}: the existing file is read-only")


def check_outputs(outputs: dict[str, str | os.PathLike | None],
                  inputs: dict[str, str | os.PathLike | None] = None) -> dict[str, Path]:
    """Check ``outputs`` ({label: path or None}) against each other and ``inputs``; return the
    outputs as paths (None left out). Raises :class:`UsageError` naming the first problem."""
    checked: dict[str, Path] = {}
    seen: dict[tuple, str] = {}
    for label, path in (inputs or {}).items():
        if path is not None and str(path) != STDIO:
            seen[_identity(Path(path))] = f"input {path}"
    for label, path in outputs.items():
        if path is None:
            continue
        path = Path(path)
        _check_writable(path, label)
        ident = _identity(path)
        if ident in seen:
            raise UsageError(f"{label} {path} is the same file as the {seen[ident]}; "
                             f"it would be overwritten")
        seen[ident] = f"{label} {path}"
        checked[label] = path
    return checked


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temporary_sibling(path: Path) -> Path:
    """A new empty file beside ``path`` (same folder, so :func:`publish` is an atomic rename)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)


def publish(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the permissions a newly created file gets under the user's umask and
    rename it over ``path`` (mkstemp files are 0600 whatever the umask)."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary sibling: never half-written."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        tmp.write_bytes(data)
        publish(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write(path, text.encode())
