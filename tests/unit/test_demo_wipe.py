"""``demo --fresh`` deletes the data folder only when it holds nothing but the demo's own."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from careline.bootstrap import QUARANTINE_FOLDER
from careline.demo.run import wipe


def test_fresh_deletes_what_the_demo_and_ingest_made(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for name in ("pgdata", "simulation.json", QUARANTINE_FOLDER):
        (data / name).mkdir(parents=True)
    wipe(data)
    assert not data.exists()


def test_fresh_refuses_a_folder_with_files_of_someone_else(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "thesis.tex").parent.mkdir(parents=True)
    (data / "thesis.tex").write_text("keep me")
    with pytest.raises(typer.BadParameter, match=r"thesis\.tex"):
        wipe(data)
    assert (data / "thesis.tex").exists()


def test_fresh_says_what_it_deletes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    (data / "pgdata").mkdir(parents=True)
    wipe(data)
    said = capsys.readouterr().out
    assert said == f"--fresh: deleting {data} (database, mail, simulation state: pgdata)\n"
