"""The generated files (contracts.generate) are up to date with the metadata they come from, and
the generator notices a change: CI fails when someone edits the catalogue or raw_tables.yaml and
forgets to regenerate, or edits a generated file by hand."""
import shutil
from pathlib import Path

from contracts import generate

ROOT = Path(__file__).resolve().parent.parent


def test_generated_files_are_up_to_date():
    out_of_date = generate.stale(ROOT)
    assert not out_of_date, f"out of date (run `{generate.COMMAND}`): {out_of_date}"


def test_every_generated_file_says_so():
    for path, text in generate.outputs(ROOT).items():
        assert "generated" in text.lower() and generate.COMMAND in text, path


def test_regenerating_into_a_copy_reports_a_hand_edit(tmp_path):
    # regenerate into a temporary copy of the generated files, after a hand edit there
    for path in generate.outputs(ROOT):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / path, tmp_path / path)
    shutil.copytree(ROOT / "dbt_project/models/marts", tmp_path / "dbt_project/models/marts")  # docs read them
    sources = tmp_path / "dbt_project/models/staging/_sources.yml"
    sources.write_text(sources.read_text().replace("data_type: varchar", "data_type: integer", 1))
    assert generate.stale(tmp_path) == ["dbt_project/models/staging/_sources.yml"]
    assert generate.main(["--check", "--root", str(tmp_path)]) == 1
    assert generate.main(["--root", str(tmp_path)]) == 0
    assert generate.stale(tmp_path) == []
    assert (tmp_path / "dbt_project/models/staging/_sources.yml").read_text() == \
        (ROOT / "dbt_project/models/staging/_sources.yml").read_text()
