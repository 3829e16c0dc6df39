"""The dataset registry, and fetching the printed-ML suite from the UCI repository.

``fetch`` downloads a dataset's archive from the UCI Machine Learning Repository, converts the
upstream file to the suite's CSV format (the one ``load_dataset`` reads: ``;``-separated,
quoted header, label column ``Y``) and installs it only if the converted CSV's SHA-256 equals
the pinned one: the files the project's results were computed on, byte for byte. The upstream
archives themselves are not pinned; a changed upstream shows as a checksum mismatch.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError, UsageError

__all__ = [
    "DEFAULT_SOURCE",
    "DatasetInfo",
    "REGISTRY",
    "cache_dir",
    "fetch_dataset",
]

#: Where the UCI repository serves its dataset archives.
DEFAULT_SOURCE = "https://archive.ics.uci.edu/static/public"
_UCI_LICENSE = "CC BY 4.0"
_TIMEOUT_S = 60.0


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/bespoke-mlp/datasets`` (``~/.cache`` when unset): where fetched
    datasets go, and where a suite dataset is looked for when no data directory is given."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bespoke-mlp" / "datasets"


def _rows(text: str, sep: str | None) -> list[list[str]]:
    """Non-empty lines of ``text`` split at ``sep`` (None: any whitespace), fields stripped."""
    return [[f.strip() for f in line.split(sep)] for line in text.splitlines() if line.strip()]


def _suite_csv(header: list[str], rows: list[list[str]]) -> bytes:
    lines = [";".join(f'"{h}"' for h in header)] + [";".join(r) for r in rows]
    return ("\n".join(lines) + "\n").encode()


def _numbered(rows: list[list[str]], labels: dict[str, str] | None = None,
              label_first: bool = False) -> bytes:
    """Features ``X1..Xn`` then ``Y`` (mapped through ``labels``)."""
    out = []
    for r in rows:
        label, features = (r[0], r[1:]) if label_first else (r[-1], r[:-1])
        out.append(features + [labels[label] if labels else label])
    n = len(out[0]) - 1
    return _suite_csv([f"X{i}" for i in range(1, n + 1)] + ["Y"], out)


def _balance(files: dict[str, str]) -> bytes:
    return _numbered(_rows(files["balance-scale.data"], ","), {"L": "0", "R": "1", "B": "2"},
                     label_first=True)


def _breast_cancer(files: dict[str, str]) -> bytes:
    # The 16 samples with a missing value ("?") are left out; malignant (4) becomes 3.
    rows = [r for r in _rows(files["breast-cancer-wisconsin.data"], ",") if "?" not in r]
    return _numbered(rows, {"2": "2", "4": "3"})


def _pendigits(files: dict[str, str]) -> bytes:
    return _numbered(_rows(files["pendigits.tra"], ",") + _rows(files["pendigits.tes"], ","))


def _seeds(files: dict[str, str]) -> bytes:
    return _numbered(_rows(files["seeds_dataset.txt"], None))


def _vertebral(files: dict[str, str]) -> bytes:
    return _numbered(_rows(files["column_3C.dat"], None), {"DH": "0", "SL": "1", "NO": "2"})


def _wine(member: str, eleventh: str) -> Callable[[dict[str, str]], bytes]:
    def convert(files: dict[str, str]) -> bytes:
        header, *rows = _rows(files[member], ";")
        # The suite's red-wine file calls its 11th column "quality" (it is alcohol).
        names = [h.strip('"') for h in header[:10]] + [eleventh, "Y"]
        return _suite_csv(names, rows)
    return convert


_CHANNELS = ("DI", "DII", "DIII", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
_ARRHYTHMIA_HEAD = ("age sex height weight QRSduration PRinterval Q-Tinterval Tinterval "
                    "Pinterval QRS T P QRST J heartrate").split()
_ARRHYTHMIA_WAVES = ("Qwave Rwave Swave RPwave SPwave intrinsicReflecttions RRwaveExists "
                     "DD_RRwaveExists RPwaveExists DD_RPwaveExists RTwaveExists "
                     "DD_RTwaveExists").split()
_ARRHYTHMIA_AMPS = ("JJwaveAmp QwaveAmp RwaveAmp SwaveAmp RPwaveAmp SPwaveAmp PwaveAmp "
                    "TwaveAmp QRSA QRSTA").split()


def _arrhythmia(files: dict[str, str]) -> bytes:
    # The one ","-separated file of the suite, with named columns, CRLF line ends, and
    # missing values ("?") as empty fields.
    names = [*_ARRHYTHMIA_HEAD,
             *(f"ch{c}_{w}" for c in _CHANNELS for w in _ARRHYTHMIA_WAVES),
             *(f"ch{c}_{a}" for c in _CHANNELS for a in _ARRHYTHMIA_AMPS), "Y"]
    rows = [["" if f == "?" else f for f in r] for r in _rows(files["arrhythmia.data"], ",")]
    return "".join(",".join(r) + "\r\n" for r in [names, *rows]).encode()


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset of the registry, as loaded (features after the loader's fixes).

    ``archive`` is the UCI archive's path under the source, ``convert`` makes the suite CSV
    from the archive's members (text by name), and ``sha256`` is that CSV's checksum; all
    three are None for scikit-learn's built-ins, and ``convert`` for a dataset that cannot be
    converted (``note`` says why).
    """

    name: str
    samples: int
    features: int
    classes: int
    source: str
    license: str
    archive: str | None = None
    convert: Callable[[dict[str, str]], bytes] | None = None
    sha256: str | None = None
    note: str = ""


def _uci(name: str, samples: int, features: int, classes: int, page: str, archive: str,
         convert: Callable[[dict[str, str]], bytes] | None, sha256: str,
         note: str = "") -> DatasetInfo:
    return DatasetInfo(name, samples, features, classes, f"UCI: {page}", _UCI_LICENSE,
                       archive, convert, sha256, note)


def _sklearn(name: str, samples: int, features: int, classes: int, uci: str) -> DatasetInfo:
    return DatasetInfo(name, samples, features, classes, f"scikit-learn (UCI: {uci})",
                       _UCI_LICENSE)


REGISTRY: dict[str, DatasetInfo] = {d.name: d for d in (
    _sklearn("iris", 150, 4, 3, "Iris"),
    _sklearn("wine", 178, 13, 3, "Wine"),
    _sklearn("breast_cancer_wdbc", 569, 30, 2, "Breast Cancer Wisconsin (Diagnostic)"),
    _sklearn("digits", 1797, 61, 10, "Optical Recognition of Handwritten Digits"),
    _uci("cardio", 2126, 21, 3, "Cardiotocography", "193/cardiotocography.zip", None,
         "a65ba57407a6a03c813950be5dd1df59ec87cc043a8c80e27dfef7a93928e78b",
         "the upstream file is an Excel workbook (CTG.xls): save its 21 features and NSP "
         "as cardio.csv in the suite's format, or copy the project's file"),
    _uci("pendigits", 10992, 16, 10, "Pen-Based Recognition of Handwritten Digits",
         "81/pen+based+recognition+of+handwritten+digits.zip", _pendigits,
         "e338b30dc26d94203cd8fb3c7c33cfac332158026f077ad87c4b59bff23b55ba"),
    _uci("redwine", 1599, 11, 6, "Wine Quality (red)", "186/wine+quality.zip",
         _wine("winequality-red.csv", "quality"),
         "ad4cd90610cbfef7267a1750707d13b291be334d893452f85f13ce469e644d80"),
    _uci("whitewine", 4898, 11, 7, "Wine Quality (white)", "186/wine+quality.zip",
         _wine("winequality-white.csv", "alcohol"),
         "249f38ba92212cfda6663ecdda869e06296bb3d5d2b713810b9524234bfc725d"),
    _uci("breast_cancer", 683, 9, 2, "Breast Cancer Wisconsin (Original)",
         "15/breast+cancer+wisconsin+original.zip", _breast_cancer,
         "0fad8b4899d55e39c395646598e452c7203316e76c3747588dbeba3e9dcfd2d4"),
    _uci("seeds", 210, 7, 3, "Seeds", "236/seeds.zip", _seeds,
         "14890eb1391916331010c6d76cde126eba23d120f5b77074875ea5930f92c4fd"),
    _uci("vertebral_3c", 310, 6, 3, "Vertebral Column (3 classes)", "212/vertebral+column.zip",
         _vertebral, "633ed8213a0b97dd9f8443fd167a00c5bd0034a37b72d7335a97e02132be46ae"),
    _uci("balance", 625, 4, 3, "Balance Scale", "12/balance+scale.zip", _balance,
         "90a617efb33f17a6b0054621ac406d81132365d78821cea09ce8c288ab0b42ce"),
    _uci("arrhythmia", 452, 261, 13, "Arrhythmia", "5/arrhythmia.zip", _arrhythmia,
         "20a4816ec1f667b259227ef5689d0ea03f4edce4a7b22c5ec1c6c12b4c6a43e2"),
)}


def _download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response:  # noqa: S310
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DataError(f"cannot download {url!r}: {exc}") from exc


def _members(data: bytes, url: str) -> dict[str, str]:
    """Every file of a zip archive (nested zips opened too), by base name, as text."""
    out: dict[str, str] = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                content = archive.read(info)
                base = info.filename.rsplit("/", 1)[-1]
                if base.endswith(".zip"):
                    out.update(_members(content, f"{url}!{base}"))
                elif base:
                    out[base] = content.decode("utf-8", errors="replace")
    except zipfile.BadZipFile as exc:
        raise DataError(f"{url!r} is not a zip archive: {exc}") from exc
    return out


def fetch_dataset(name: str, *, to: Path | None = None, source: str = DEFAULT_SOURCE) -> Path:
    """Download ``name``'s UCI archive from ``source``, convert it to the suite's CSV, check
    it against the pinned SHA-256 and write it to ``to/<name>.csv`` (default:
    :func:`cache_dir`) atomically; returns the file. An existing file with the right checksum
    is kept without downloading.

    Raises
    ------
    UsageError
        For a name that is not a fetchable suite dataset.
    DataError
        If the download fails, the archive lacks the expected file, the dataset cannot be
        converted, or the converted file's checksum differs (nothing is written then).
    """
    info = REGISTRY.get(name)
    if info is None or info.archive is None:
        fetchable = [d.name for d in REGISTRY.values() if d.archive is not None]
        raise UsageError(f"cannot fetch {name!r}: fetchable datasets are "
                         f"{', '.join(fetchable)} (the others ship with scikit-learn)")
    target = Path(to if to is not None else cache_dir()) / f"{name}.csv"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == info.sha256:
        return target
    url = f"{source.rstrip('/')}/{info.archive}"
    if info.convert is None:
        raise DataError(f"cannot convert {name!r} from {url}: {info.note}")
    files = _members(_download(url), url)
    try:
        data = info.convert(files)
    except KeyError as exc:
        raise DataError(f"{url!r} has no file {exc.args[0]!r}; found {sorted(files)!r}") from exc
    except (IndexError, ValueError) as exc:
        raise DataError(f"cannot convert {name!r} from {url!r}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != info.sha256:
        raise DataError(f"{name}.csv converted from {url!r} has SHA-256 {digest}, expected "
                        f"{info.sha256}: the upstream file changed; nothing was written")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise DataError(f"cannot write {str(target)!r}: {exc.strerror}") from exc
    return target
