"""Where the CLI writes: checked before any work, and every write failure said plainly.

`--out /tmp` (a folder), `--out /nonexistent/d/x.csv` (no such folder) and `--out /proc/version`
(cannot be written) used to end in a traceback, some only after a whole fetch; `fetch` created
missing folders without a word. Folders are never created here: a typo should not become one.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import DataFileError


def check_output(path: str | Path) -> Path:
    """The path as a Path, or a DataFileError saying why it cannot be written."""
    out = Path(path)
    if out.is_dir():
        raise DataFileError(
            f"{out} is a folder; give a file name in it (for example {out / 'trials.csv'})."
        )
    folder = out.parent
    if not folder.exists():
        raise DataFileError(
            f"The folder {folder} does not exist, so {out.name} cannot be written there. "
            "Create the folder first, or choose another place."
        )
    if not folder.is_dir():
        raise DataFileError(f"{folder} is not a folder, so {out} cannot be written.")
    if not os.access(folder, os.W_OK | os.X_OK) or (out.exists() and not os.access(out, os.W_OK)):
        raise DataFileError(f"{out} cannot be written (no permission). Choose another place.")
    if out.exists():
        # Permission bits do not tell everything (root may "write" /proc/version): opening for
        # appending, which changes nothing, does.
        try:
            with open(out, "ab"):
                pass
        except OSError as exc:
            raise write_error(out, exc) from exc
    return out


def write_output(path: str | Path, data: bytes | str) -> None:
    """Write a whole file; a failure (a read-only or special file, a full disk) is a message."""
    out = check_output(path)
    try:
        if isinstance(data, str):
            out.write_text(data, encoding="utf-8")
        else:
            out.write_bytes(data)
    except OSError as exc:
        raise DataFileError(
            f"Could not write {out} ({exc.strerror or exc}). Choose a file in a folder you can "
            "write to."
        ) from exc


def write_error(path: str | Path, exc: OSError) -> DataFileError:
    """The message for a write that failed part way (streamed output)."""
    return DataFileError(
        f"Could not write {path} ({exc.strerror or exc}). Choose a file in a folder you can "
        "write to."
    )
