"""What the benchmarks measured against the sqlite3 shell share: their options and their working folder."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def options(doc: str, default_rows: int, kept: str) -> argparse.Namespace:
    """``--rows N`` and ``--keep DIR`` (``kept`` says what stays there); refuses to run without sqlite3."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rows", type=int, default=default_rows)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help=f"build in DIR and keep {kept}")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if shutil.which("sqlite3") is None:
        raise SystemExit("this benchmark needs the sqlite3 command-line shell as its baseline: "
                         "install it (Debian: apt-get install sqlite3)")
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    return args


def workdir(keep: Path | None, prefix: str) -> tuple[Path, tempfile.TemporaryDirectory[str] | None]:
    """``keep``, or a temporary folder (to clean up) when none was given."""
    if keep is not None:
        return keep, None
    tmp = tempfile.TemporaryDirectory(prefix=prefix)
    return Path(tmp.name), tmp
