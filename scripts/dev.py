#!/usr/bin/env python3
"""The two quick-start commands, with all their set-up, on any machine with Python 3.11+.

    python3 scripts/dev.py demo    # the whole product on embedded services
    python3 scripts/dev.py test    # lint, types, import layers and every test tier

Both create ``.venv`` in the repository (once) and install the project into it; the
install is redone only when pyproject.toml changes. Extra arguments go to ``careline demo``
or to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)  # noqa: S603


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"careline needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extras or 'base'}-{digest}"
    if not stamp.exists():
        run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        target = f".[{extras}]" if extras else "."
        run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target)
        stamp.touch()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "demo":
        ensure_venv("")
        careline = str(BIN / "careline")
        os.execv(careline, [careline, "demo", *rest])  # noqa: S606 - replaces this process
    ensure_venv("dev")
    try:
        run(BIN / "ruff", "check", ".")
        run(BIN / "ruff", "format", "--check", ".")
        run(BIN / "mypy", ".")
        run(BIN / "lint-imports")  # the layering contracts in pyproject.toml
        run(BIN / "pytest", *rest)
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
