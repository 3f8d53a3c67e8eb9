"""Option checks made before any work: writable folders, files, checkpoints, addresses."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from planner.cli_checks import (
    OptionError,
    check_checkpoint,
    check_out_file,
    check_out_folder,
    check_scheduler,
)


def test_an_output_folder_that_could_be_made_passes_and_is_not_made(tmp_path):
    check_out_folder(tmp_path / "new" / "deep")
    assert list(tmp_path.iterdir()) == []  # nothing made, the probe file is gone


def test_an_output_folder_that_cannot_be_made_is_refused(tmp_path):
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(OptionError, match="is a file, not a folder"):
        check_out_folder(a_file)
    with pytest.raises(OptionError, match="f.txt is a file, not a folder"):
        check_out_folder(a_file / "sub" / "deeper")
    if Path("/proc/self").is_dir():  # no one, root included, can write in /proc
        with pytest.raises(OptionError, match="cannot write there"):
            check_out_folder(Path("/proc/ooda-forge-out"))


def test_an_output_file_must_not_be_a_folder(tmp_path):
    check_out_file(tmp_path / "x.yaml")
    with pytest.raises(OptionError, match="is a folder"):
        check_out_file(tmp_path)


def test_a_checkpoint_is_new_or_a_sqlite_database(tmp_path):
    check_checkpoint(None)
    check_checkpoint(tmp_path / "new.sqlite")
    database = tmp_path / "db.sqlite"
    sqlite3.connect(database).execute("create table t (x)").connection.close()
    check_checkpoint(database)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(OptionError, match="file is not a database"):
        check_checkpoint(junk)
    with pytest.raises(OptionError, match="is a folder"):
        check_checkpoint(tmp_path)


@pytest.mark.parametrize(
    "address", [None, "local", "tcp://10.0.0.5:8786", "127.0.0.1:8786", "tls://[::1]:8786"]
)
def test_well_formed_scheduler_addresses_pass(address):
    check_scheduler(address)


@pytest.mark.parametrize(
    "address", ["nonsense", "tcp://host:notaport", "tcp://host:99999", "tcp://:8786", "http//x:1"]
)
def test_malformed_scheduler_addresses_are_refused(address):
    with pytest.raises(OptionError, match="not a Dask scheduler address"):
        check_scheduler(address)


def test_generate_makes_the_folder_of_its_output_file(tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app
    from sim.scenario import load_scenario

    target = tmp_path / "new" / "g.yaml"
    args = ["generate", "--units", "4", "--places", "6", "--out", str(target)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(load_scenario(target).units) == 4
    assert [p.name for p in target.parent.iterdir()] == ["g.yaml"]  # no temporary left
