"""Cell helpers the reader and rules share."""
import subprocess
import sys

from openpyxl.utils import get_column_letter

from contracts.cells import column_letter


def test_column_letters_match_excel():
    assert [column_letter(c) for c in (1, 26, 27, 52, 53, 702, 703, 16384)] == \
        ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]
    assert all(column_letter(c) == get_column_letter(c) for c in range(1, 18279))


def test_validation_does_not_import_openpyxl():
    """`lsrp validate` reads with calamine; openpyxl alone is ~0.4 s of its start-up."""
    code = "import sys, contracts.validate; print('openpyxl' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
