"""Tests of bespoke_mlp.data: loading, validation, and the split / scaling protocol."""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from bespoke_mlp.data import (
    BUILTIN_DATASETS,
    DATA_ENV_VAR,
    PRINTED_ML_DATASETS,
    ConstantFeatureWarning,
    Dataset,
    add_data_arguments,
    known_datasets,
    load_dataset,
    split_dataset,
)
from bespoke_mlp.errors import DataError, UsageError
from bespoke_mlp.ir import DEFAULT_INPUT_RANGE, MIN_MAX, InputRange

# name: (samples, features after loading, classes)
BUILTIN_SHAPES = {
    "iris": (150, 4, 3),
    "wine": (178, 13, 3),
    "breast_cancer_wdbc": (569, 30, 2),
    "digits": (1797, 61, 10),  # 64 pixels minus 3 that are always 0
}
SUITE_SHAPES = {
    "cardio": (2126, 21, 3),
    "pendigits": (10992, 16, 10),
    "redwine": (1599, 11, 6),
    "whitewine": (4898, 11, 7),
    "breast_cancer": (683, 9, 2),  # sample ID X1 dropped
    "seeds": (210, 7, 3),
    "vertebral_3c": (310, 6, 3),
    "balance": (625, 4, 3),
    "arrhythmia": (452, 261, 13),  # 279 minus "J" (83 % missing) minus 17 constant columns
}
WARNS_CONSTANT = {"digits", "arrhythmia"}


def _load(name: str, **kwargs) -> Dataset:
    if name in WARNS_CONSTANT:
        with pytest.warns(ConstantFeatureWarning, match="constant feature"):
            return load_dataset(name, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_dataset(name, **kwargs)


def _write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _check_shape(ds: Dataset, shape: tuple[int, int, int]) -> None:
    assert (ds.n_samples, ds.n_features, len(ds.classes)) == shape
    assert ds.X.shape == (ds.n_samples, ds.n_features)
    assert ds.X.dtype == np.float64 and np.isfinite(ds.X).all()
    assert ds.y.shape == (ds.n_samples,) and ds.y.dtype == np.int64
    assert len(ds.feature_names) == ds.n_features
    assert list(ds.classes) == sorted(ds.classes)


# --- names ------------------------------------------------------------------------------------


def test_known_datasets():
    names = known_datasets()
    assert names == BUILTIN_DATASETS + PRINTED_ML_DATASETS
    assert set(names) == set(BUILTIN_SHAPES) | set(SUITE_SHAPES)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", sorted(BUILTIN_SHAPES))
def test_builtin_loads(name):
    ds = _load(name)
    assert ds.name == name
    _check_shape(ds, BUILTIN_SHAPES[name])


def test_digits_drops_constant_pixels():
    ds = _load("digits")
    assert not {"pixel_0_0", "pixel_4_0", "pixel_4_7"} & set(ds.feature_names)
    assert (ds.X.min(axis=0) < ds.X.max(axis=0)).all()


def test_name_is_case_insensitive():
    assert load_dataset("Iris").name == "iris"


def test_name_wins_over_a_same_named_file_or_directory(tmp_path, monkeypatch):
    """A run directory named like the dataset (``bespoke-mlp run iris`` writes ``iris/``) does
    not shadow the dataset; a path still reads the file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris").mkdir()
    (tmp_path / "Wine").write_text("a,Y\n1,0\n2,1\n3,0\n4,1\n")
    assert load_dataset("iris").name == "iris"
    assert load_dataset("Wine").name == "wine"
    assert load_dataset(Path("Wine")).name == "Wine"


@pytest.mark.parametrize("name", sorted(SUITE_SHAPES))
def test_suite_loads(name, shared_data_dir):
    ds = _load(name, data_dir=shared_data_dir)
    assert ds.name == name
    _check_shape(ds, SUITE_SHAPES[name])


def test_suite_quirks(shared_data_dir):
    bc = _load("breast_cancer", data_dir=shared_data_dir)
    assert bc.feature_names == tuple(f"X{i}" for i in range(2, 11))
    assert bc.X.max() <= 10  # the IDs are in the hundred thousands
    red = _load("redwine", data_dir=shared_data_dir)
    assert red.feature_names[10] == "alcohol" and "quality" not in red.feature_names
    arr = _load("arrhythmia", data_dir=shared_data_dir)
    assert "J" not in arr.feature_names
    assert {"P", "T", "QRST", "heartrate"} <= set(arr.feature_names)


def test_env_var_resolution(shared_data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv(DATA_ENV_VAR, str(shared_data_dir))
    assert load_dataset("seeds").n_samples == 210
    # An explicit data_dir wins over the environment variable.
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "nowhere"))
    assert load_dataset("seeds", data_dir=shared_data_dir).n_samples == 210
    with pytest.raises(DataError, match=re.escape(repr(str(tmp_path / "nowhere")))):
        load_dataset("seeds")


def test_no_data_dir_reads_the_cache_and_names_the_fetch_command(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache = tmp_path / "bespoke-mlp" / "datasets"
    with pytest.raises(DataError, match=re.escape(
            f"'cardio.csv' not found in the dataset cache '{cache}'; download it with "
            "'bespoke-mlp datasets fetch cardio', or point --data-dir")):
        load_dataset("cardio")
    cache.mkdir(parents=True)
    (cache / "seeds.csv").write_text('"X1";"X2";"Y"\n' + "".join(
        f"{i};{i % 7};{1 + i % 3}\n" for i in range(30)))
    assert load_dataset("seeds").n_samples == 30


def test_suite_file_missing(tmp_path):
    with pytest.raises(DataError, match=re.escape(
            f"'seeds.csv' not found in --data-dir '{tmp_path}'; download it with "
            f"'bespoke-mlp datasets fetch seeds --to {tmp_path}'")):
        load_dataset("seeds", data_dir=tmp_path)


def test_unknown_name_lists_known():
    with pytest.raises(DataError, match="unknown dataset 'cardoi'; known datasets: iris, .*cardio"):
        load_dataset("cardoi")


def test_label_with_name_is_usage_error():
    with pytest.raises(UsageError, match="'Y'"):
        load_dataset("iris", label="Y")


# --- CSV files by path --------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", ","])
def test_csv_separator_detected(tmp_path, sep):
    rows = ["a", "b", "cls"], ["1", "2.5", "0"], ["3", "4", "1"], ["5", "6", "0"], ["7", "8", "1"]
    path = _write(tmp_path, "\n".join(sep.join(r) for r in rows) + "\n", "my_data.csv")
    ds = load_dataset(str(path))
    assert ds.name == "my_data"
    assert ds.feature_names == ("a", "b")
    np.testing.assert_array_equal(ds.X, [[1, 2.5], [3, 4], [5, 6], [7, 8]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    assert ds.classes == (0, 1)


def test_csv_named_label_and_string_classes(tmp_path):
    text = '"kind";"x1";"x2"\n"cat";1;2\n"dog";3;1\n"cat";5;0\n"dog";2;2\n'
    ds = load_dataset(_write(tmp_path, text), label="kind")
    assert ds.feature_names == ("x1", "x2")
    assert ds.y.dtype.kind == "U"
    assert ds.classes == ("cat", "dog")
    np.testing.assert_array_equal(ds.X[:, 0], [1, 3, 5, 2])


def test_csv_skips_blank_lines(tmp_path):
    ds = load_dataset(_write(tmp_path, "\na,y\n1,0\n\n2,1\n3,0\n4,1\n\n"))
    assert ds.n_samples == 4


def test_arrays_are_read_only():
    ds = load_dataset("iris")
    with pytest.raises(ValueError):
        ds.X[0, 0] = 1.0
    split = split_dataset(ds)
    with pytest.raises(ValueError):
        split.X_test[0, 0] = 1.0


def test_constant_feature_warned_and_dropped(tmp_path):
    text = "a,const,b,y\n1,7,5,0\n2,7,6,1\n3,7,7,0\n4,7,9,1\n"
    with pytest.warns(ConstantFeatureWarning, match="dropping 1 constant feature.*'const'"):
        ds = load_dataset(_write(tmp_path, text))
    assert ds.feature_names == ("a", "b")
    np.testing.assert_array_equal(ds.X[:, 1], [5, 6, 7, 9])


BAD_CSVS = {
    "empty": ("", "is empty"),
    "blank": ("\n  \n", "is empty"),
    "header only": ("a;b;Y\n", "has a header but no data rows"),
    "non-numeric": ("a;b;Y\n1;2;0\n3;abc;1\n", r"line 3: non-numeric value 'abc' in .*column 'b'"),
    "nan": ("a;b;Y\n1;2;0\nnan;1;1\n", r"line 3: non-finite value 'nan' in feature column 'a'"),
    "inf": ("a;b;Y\n1;-inf;0\n1;1;1\n", r"line 2: non-finite value '-inf' in feature column 'b'"),
    "missing value": ("a;b;Y\n1;;0\n1;1;1\n", r"line 2: empty \(missing\) value in .*'b'"),
    "empty label": ("a;Y\n1;0\n2;\n", r"line 3: empty value in label column 'Y'"),
    "one class": ("a;Y\n1;5\n2;5\n3;5\n", r"only one class \(5\)"),
    "singleton class": ("a;Y\n1;0\n2;0\n3;1\n", r"class 1 has only 1 sample"),
    "duplicate names": ("a;b;a;Y\n1;2;3;0\n", r"duplicate column name 'a'"),
    "empty name": ("a;;Y\n1;2;0\n", r"column 2 of the header has an empty name"),
    "ragged row": ("a;b;Y\n1;2;0\n1;2\n", r"line 3: 2 fields, but the header has 3"),
    "single column": ("Y\n1\n", "header line 'Y' has no ';' or ',' separator"),
    "all constant": ("a;Y\n1;0\n1;1\n1;0\n1;1\n", "every feature is constant"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSVS))
def test_invalid_csv(tmp_path, case):
    text, message = BAD_CSVS[case]
    path = _write(tmp_path, text)
    with pytest.raises(DataError, match=message) as info:
        load_dataset(path)
    assert "\n" not in str(info.value)


def test_missing_label_column(tmp_path):
    path = _write(tmp_path, "a;b;Y\n1;2;0\n3;4;1\n")
    with pytest.raises(DataError, match=r"label column 'class' not found in .*'a', 'b', 'Y'"):
        load_dataset(path, label="class")


def test_missing_and_directory_paths(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(DataError, match=re.escape(f"{str(missing)!r} not found")):
        load_dataset(missing)
    with pytest.raises(DataError, match="is a directory"):
        load_dataset(tmp_path)


def test_dataset_shape_checks():
    with pytest.raises(DataError, match="y has shape"):
        Dataset("d", np.zeros((3, 2)), np.zeros(2), ("a", "b"))
    with pytest.raises(DataError, match="1 feature names for 2 features"):
        Dataset("d", np.zeros((3, 2)), np.zeros(3), ("a",))


# --- split and scaling --------------------------------------------------------------------------


def _id_dataset(counts: dict[int, int], seed: int = 0) -> Dataset:
    """A dataset whose first feature is the sample index, so every row is identifiable."""
    y = np.repeat(list(counts), list(counts.values()))
    rng = np.random.default_rng(seed)
    rng.shuffle(y)
    X = np.column_stack([np.arange(len(y)), rng.normal(size=(len(y), 3))])
    return Dataset("ids", X, y, ("id", "f1", "f2", "f3"))


def _ids(X: np.ndarray) -> set[int]:
    return set(X[:, 0].astype(int).tolist())


def test_split_sizes_and_partition():
    ds = _id_dataset({0: 120, 1: 60, 2: 20})
    s = split_dataset(ds)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (112, 28, 60)
    train, val, test = _ids(s.X_train), _ids(s.X_val), _ids(s.X_test)
    assert not (train & val or train & test or val & test)
    assert train | val | test == set(range(ds.n_samples))
    for X, y in ((s.X_train, s.y_train), (s.X_val, s.y_val), (s.X_test, s.y_test)):
        np.testing.assert_array_equal(ds.y[X[:, 0].astype(int)], y)


def test_split_is_stratified():
    ds = _id_dataset({0: 300, 1: 150, 2: 50})
    s = split_dataset(ds)
    for y, frac in ((s.y_test, 0.3), (s.y_val, 0.7 * 0.2)):
        for cls, n in ((0, 300), (1, 150), (2, 50)):
            assert abs(np.sum(y == cls) - n * frac) <= 1


def test_test_part_matches_published_protocol(shared_data_dir):
    ds = _load("cardio", data_dir=shared_data_dir)
    s = split_dataset(ds)
    _, X_test, _, y_test = train_test_split(
        ds.X, ds.y, test_size=0.3, random_state=42, stratify=ds.y
    )
    np.testing.assert_array_equal(s.X_test, X_test)
    np.testing.assert_array_equal(s.y_test, y_test)


def test_split_is_deterministic():
    ds = _id_dataset({0: 40, 1: 40})
    a, b, c = split_dataset(ds), split_dataset(ds), split_dataset(ds, seed=7)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_array_equal(a.X_val, b.X_val)
    assert _ids(a.X_test) != _ids(c.X_test)


@pytest.mark.parametrize("rule", [MIN_MAX, DEFAULT_INPUT_RANGE])
def test_scaling_fitted_on_training_portion_only(rule):
    ds = _id_dataset({0: 60, 1: 40})
    s = split_dataset(ds, input_range=rule)
    portion = np.vstack([s.X_train, s.X_val])
    fitted = rule.fit(portion)
    np.testing.assert_array_equal(s.feature_min, fitted.lo)
    np.testing.assert_array_equal(s.feature_max, fitted.hi)
    assert s.input_range == rule and s.input_clipped == tuple(fitted.clipped.tolist())
    # Making test samples extreme changes neither the scaling nor the training codes.
    X = ds.X.copy()
    test_rows = s.X_test[:, 0].astype(int)
    X[test_rows, 1:] = 1e6
    X[test_rows[0], 1:] = -1e6
    s2 = split_dataset(Dataset("ids", X, ds.y, ds.feature_names), input_range=rule)
    np.testing.assert_array_equal(s2.feature_min, s.feature_min)
    np.testing.assert_array_equal(s2.feature_max, s.feature_max)
    np.testing.assert_array_equal(s2.codes("train", 4), s.codes("train", 4))
    np.testing.assert_array_equal(s2.codes("val", 4), s.codes("val", 4))
    codes = s2.codes("test", 4)
    assert codes[:, 1:].max() == 15 and codes[:, 1:].min() == 0


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_codes_in_range(bits):
    s = split_dataset(load_dataset("wine"))
    top = (1 << bits) - 1
    for part in ("train", "val", "test"):
        codes = s.codes(part, bits)
        assert codes.dtype == np.int64
        assert codes.shape == (len(getattr(s, f"y_{part}")), 13)
        assert codes.min() >= 0 and codes.max() <= top
    portion = np.vstack([s.codes("train", bits), s.codes("val", bits)])
    assert (portion.min(axis=0) == 0).all() and (portion.max(axis=0) == top).all()


def test_codes_argument_errors():
    s = split_dataset(load_dataset("iris"))
    with pytest.raises(UsageError, match="unknown split part 'validation'"):
        s.codes("validation", 4)
    with pytest.raises(UsageError, match="positive integer, got 0"):
        s.codes("test", 0)


def test_rare_class_stays_in_train():
    # Class 2 has 2 samples: one goes to test, the other cannot be stratified into val.
    ds = _id_dataset({0: 50, 1: 30, 2: 2})
    s = split_dataset(ds)
    assert np.sum(s.y_test == 2) == 1 and np.sum(s.y_train == 2) == 1
    assert np.sum(s.y_val == 2) == 0


def test_unstratified_val_fallback():
    # 14 training-portion samples: a val part of 3 cannot hold all 4 classes.
    ds = _id_dataset({0: 5, 1: 5, 2: 5, 3: 5})
    s = split_dataset(ds)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (11, 3, 6)
    assert set(s.y_test.tolist()) == {0, 1, 2, 3}


def test_selection_part_is_held_out_of_training_not_of_scaling():
    ds = _id_dataset({0: 120, 1: 80})
    plain, s = split_dataset(ds), split_dataset(ds, select_size=0.3)
    np.testing.assert_array_equal(s.X_test, plain.X_test)  # the papers' test set stays
    assert len(plain.y_select) == 0 and plain.codes("select", 4).shape == (0, 4)
    ids = [_ids(x) for x in (s.X_train, s.X_val, s.X_select, s.X_test)]
    assert sum(map(len, ids)) == 200 and len(set().union(*ids)) == 200
    assert len(s.y_select) == 42 and np.bincount(s.y_select).tolist() == [25, 17]
    # One encoding per split: the range is fitted on every non-test sample (no labels), so
    # a search's split codes each test sample as the exact flow's does.
    seen = np.vstack([s.X_train, s.X_val, s.X_select])
    fitted = DEFAULT_INPUT_RANGE.fit(seen)
    np.testing.assert_array_equal(s.feature_min, fitted.lo)
    np.testing.assert_array_equal(s.feature_max, fitted.hi)
    np.testing.assert_array_equal(s.feature_min, plain.feature_min)
    np.testing.assert_array_equal(s.codes("test", 4), plain.codes("test", 4))
    with pytest.raises(UsageError, match=r"select_size must be a fraction in \[0, 1\), got 1"):
        split_dataset(ds, select_size=1)


def test_zero_val_size():
    s = split_dataset(load_dataset("iris"), val_size=0)
    assert (len(s.y_train), len(s.y_val), len(s.y_test)) == (105, 0, 45)
    assert s.codes("val", 4).shape == (0, 4)


def test_split_errors():
    ds = load_dataset("iris")
    for kwargs, message in (
        ({"test_size": 0}, r"test_size must be a fraction in \(0, 1\), got 0"),
        ({"test_size": 1.5}, r"test_size must .* got 1.5"),
        ({"val_size": 1}, r"val_size must be a fraction in \[0, 1\), got 1"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
    ):
        with pytest.raises(UsageError, match=message):
            split_dataset(ds, **kwargs)
    with pytest.raises(DataError, match="too small for a stratified test split"):
        split_dataset(_id_dataset({k: 2 for k in range(6)}), test_size=0.2)
    with pytest.raises(DataError, match="class 1 has only 1 sample"):
        split_dataset(Dataset("d", np.arange(5.0)[:, None], np.array([0, 0, 0, 0, 1]), ("a",)))


# --- command line -------------------------------------------------------------------------------


def test_add_data_arguments():
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    args = parser.parse_args([])
    assert args.data_dir is None and args.label is None
    args = parser.parse_args(["--data-dir", "some/dir", "--label", "class"])
    assert args.data_dir == Path("some/dir") and args.label == "class"
    assert DATA_ENV_VAR in parser.format_help()


def _upstream_archives(shared: Path, root: Path) -> None:
    """UCI-style archives under ``root``, rebuilt from the suite's CSVs in the upstream
    formats (label letters, "?" for missing values, other separators and paddings)."""
    import csv
    import zipfile

    from bespoke_mlp.data._fetch import REGISTRY

    def rows(name: str, sep: str = ";") -> tuple[list[str], list[list[str]]]:
        with open(shared / f"{name}.csv", newline="") as fh:
            header, *body = list(csv.reader(fh, delimiter=sep))
        return header, body

    def lines(table) -> str:
        return "".join(line + "\n" for line in table)

    files: dict[str, dict[str, str]] = {}
    _, body = rows("balance")
    files["balance"] = {"balance-scale.data": lines(
        ",".join(["LRB"[int(r[-1])], *r[:-1]]) for r in body)}
    _, body = rows("breast_cancer")
    with_missing = [",".join([*r[:-1], {"2": "2", "3": "4"}[r[-1]]]) for r in body]
    with_missing.insert(5, "1057013,8,4,5,1,2,?,7,3,1,4")
    files["breast_cancer"] = {"breast-cancer-wisconsin.data": lines(with_missing)}
    _, body = rows("pendigits")
    padded = [",".join(f"{v:>3}" for v in r) for r in body]
    files["pendigits"] = {"pendigits.tra": lines(padded[:7494]),
                          "pendigits.tes": lines(padded[7494:])}
    _, body = rows("seeds")
    files["seeds"] = {"seeds_dataset.txt": lines("\t".join(r[:3]) + "\t\t" + "\t".join(r[3:])
                                                 for r in body)}
    _, body = rows("vertebral_3c")
    files["vertebral_3c"] = {"column_3C.dat": lines(
        " ".join([*r[:-1], ("DH", "SL", "NO")[int(r[-1])]]) for r in body)}
    for name, member, eleventh in (("redwine", "winequality-red.csv", "alcohol"),
                                   ("whitewine", "winequality-white.csv", "alcohol")):
        header, body = rows(name)
        names = [*header[:10], eleventh, "quality"]
        files[name] = {member: lines([";".join(f'"{h}"' for h in names),
                                      *(";".join(r) for r in body)])}
    _, body = rows("arrhythmia", ",")
    files["arrhythmia"] = {"arrhythmia.data": lines(",".join(v or "?" for v in r)
                                                    for r in body)}
    by_archive: dict[str, dict[str, str]] = {}
    for name, members in files.items():
        by_archive.setdefault(REGISTRY[name].archive, {}).update(members)
    for archive, members in by_archive.items():
        path = root / archive
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as z:
            for member, text in members.items():
                z.writestr(member, text)


def test_fetch_converts_upstream_files_to_the_suite_byte_for_byte(shared_data_dir, tmp_path,
                                                                  capsys):
    from bespoke_mlp.cli import main

    _upstream_archives(shared_data_dir, tmp_path / "uci")
    out = tmp_path / "fetched"
    code = main(["datasets", "fetch", "all", "--to", str(out),
                 "--source", (tmp_path / "uci").as_uri()])
    # Everything but cardio, whose upstream is an Excel workbook.
    assert code == 2
    assert "1 of 9 datasets not fetched: cardio: cannot convert 'cardio'" in \
        capsys.readouterr().err
    fetched = sorted(p.name for p in out.iterdir())
    assert fetched == sorted(f"{n}.csv" for n in PRINTED_ML_DATASETS if n != "cardio")
    for name in fetched:
        assert (out / name).read_bytes() == (shared_data_dir / name).read_bytes(), name


def test_fetch_checks_the_checksum_and_fills_the_cache(monkeypatch, tmp_path, capsys):
    import zipfile

    from bespoke_mlp.cli import main
    from bespoke_mlp.data._fetch import REGISTRY, _balance, fetch_dataset

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    source = tmp_path / "uci"
    (source / "12").mkdir(parents=True)
    rows = "".join(f"{'LRB'[i % 3]},{1 + i % 5},{1 + i // 5 % 5},2,3\n" for i in range(60))
    with zipfile.ZipFile(source / "12" / "balance+scale.zip", "w") as z:
        z.writestr("balance-scale.data", rows)
    cached = tmp_path / "xdg" / "bespoke-mlp" / "datasets" / "balance.csv"
    # These rows are not the suite's: the checksum refuses them and nothing is written.
    with pytest.raises(DataError, match="balance.csv converted from .* has SHA-256 .*, "
                                        "expected 90a617efb33f17a6.*nothing was written"):
        fetch_dataset("balance", source=source.as_uri())
    assert not cached.parent.exists() or not any(cached.parent.iterdir())
    # With their checksum pinned, they are fetched into the cache, which the loader reads.
    digest = hashlib.sha256(_balance({"balance-scale.data": rows})).hexdigest()
    monkeypatch.setitem(REGISTRY, "balance",
                        dataclasses.replace(REGISTRY["balance"], sha256=digest))
    assert main(["datasets", "fetch", "balance", "--source", source.as_uri()]) == 0
    assert capsys.readouterr().out == f"balance: {cached}\n"
    assert load_dataset("balance").n_samples == 60
    # A cached file with the right checksum is not downloaded again.
    (source / "12" / "balance+scale.zip").unlink()
    assert fetch_dataset("balance", source=source.as_uri()) == cached
    assert main(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert "balance   " in listing and "cached" in listing and "UCI: Balance Scale" in listing
    with pytest.raises(UsageError, match="cannot fetch 'iris'"):
        fetch_dataset("iris")


def test_label_indices_marks_unknown_labels():
    from bespoke_mlp.data import label_indices

    assert label_indices((2, 4, 3), np.array([4, 3, 5, 2])).tolist() == [1, 2, -1, 0]
    assert label_indices(np.array(["b", "a"]), np.array(["a", "c", "b"])).tolist() == [1, -1, 0]
    assert label_indices((1, 2), np.array([], dtype=np.int64)).tolist() == []


def test_quantile_range_clips_an_outlier_of_the_fitting_samples():
    ds = _id_dataset({0: 150, 1: 100})
    X = ds.X.copy()
    plain = split_dataset(ds)
    outlier = int(plain.X_train[0, 0])
    X[outlier, 1] = 1e3
    s = split_dataset(Dataset("ids", X, ds.y, ds.feature_names), input_range=InputRange(1, 99))
    seen = np.vstack([s.X_train, s.X_val])
    assert s.feature_max[1] == pytest.approx(np.percentile(seen[:, 1], 99))
    assert s.feature_max[1] < 10 and s.input_clipped == (True,) * 4
    row = np.flatnonzero(s.X_train[:, 0] == outlier)[0]
    assert s.codes("train", 4)[row, 1] == 15
    m = split_dataset(Dataset("ids", X, ds.y, ds.feature_names), input_range=MIN_MAX)
    assert m.feature_max[1] == 1e3 and m.input_clipped == (False,) * 4


def test_input_range_must_be_a_rule():
    with pytest.raises(UsageError, match="input_range must be an InputRange, got 'q1-99'"):
        split_dataset(load_dataset("iris"), input_range="q1-99")


def test_datasets_lists_what_run_reads(tmp_path, monkeypatch, capsys):
    """``datasets`` reads the directory ``run`` does: --data-dir, else BESPOKE_MLP_DATA."""
    from bespoke_mlp.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "seeds.csv").write_text("x\n")
    monkeypatch.setenv(DATA_ENV_VAR, str(suite))
    assert main(["datasets"]) == 0
    rows = {line.split()[0]: line.split()[-1] for line in capsys.readouterr().out.splitlines()}
    assert rows["seeds"] == "found" and rows["cardio"] == "missing"
    assert rows["iris"] == "in"  # "built in"
    assert rows["data"] == f"{DATA_ENV_VAR})"
    monkeypatch.delenv(DATA_ENV_VAR)
    assert main(["datasets", "--data-dir", str(suite)]) == 0
    out = capsys.readouterr().out
    assert f"data directory: {suite} (from --data-dir)" in out
    assert "seeds" in out and "found" in out
    assert main(["datasets"]) == 0  # neither: the cache, as before
    assert "not fetched" in capsys.readouterr().out
