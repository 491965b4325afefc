"""The broker's password file, written whole from the database's live accounts.

For Mosquitto, one line per account, ``user:hash`` (the hash from
:mod:`devices.credentials.secret_hash`); for NATS, a users list with each account's
permissions (:mod:`devices.credentials.nats_users`). The file is written next to itself and renamed
over the old one, so the broker never reads half a file; mount the folder, not the file,
into a container (a renamed file is a new inode a single-file bind mount does not see).
A file that exists keeps its mode; a new one is 0644, since the broker usually runs as
another user: the hashes are of 256-bit random secrets, which reading them does not reveal.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from devices.errors import DeviceError


class PasswordFileError(DeviceError):
    """The password file could not be written."""


def render(accounts: Iterable[tuple[str, str]]) -> str:
    """The file's text, sorted by user name.

    >>> render([("b", "$7$1$x$y"), ("a", "$7$1$z$w")])
    'a:$7$1$z$w\\nb:$7$1$x$y\\n'
    """
    lines = []
    for user, hashed in sorted(accounts):
        if ":" in user or "\n" in user or "\n" in hashed:
            raise PasswordFileError(f"refusing to write account {user!r}: not a plain name")
        lines.append(f"{user}:{hashed}\n")
    return "".join(lines)


def write_password_file(path: Path, accounts: Iterable[tuple[str, str]]) -> int:
    """Replace ``path`` with these Mosquitto accounts, atomically; the number written."""
    text = render(accounts)
    replace_file(path, text)
    return text.count("\n")


def replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` by renaming a complete copy over it."""
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).chmod(mode)
            Path(temporary).replace(path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise PasswordFileError(f"cannot write the broker password file {path}: {exc}") from exc
