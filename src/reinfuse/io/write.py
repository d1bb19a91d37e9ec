"""Write a cohort (a mapping of table name -> DataFrame) as an .xlsx workbook or CSV folder.

Values are written the way the cohort format reads them back: booleans as ``yes``/``no``,
dates as ISO dates (real date cells in a workbook), missing values as empty cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from reinfuse.io._atomic import write_atomically


def _for_output(frame: pd.DataFrame, excel: bool) -> pd.DataFrame:
    out = frame.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_bool_dtype(col) or (
            col.dtype == object and col.dropna().map(type).eq(bool).all() and col.notna().any()
        ):
            out[name] = col.map({True: "yes", False: "no"}).astype(object)
        elif pd.api.types.is_datetime64_any_dtype(col):
            out[name] = col.dt.date if excel else col.dt.strftime("%Y-%m-%d")
    return out


def write_cohort(
    tables: Mapping[str, pd.DataFrame], path: str | Path, overwrite: bool = False,
    protect: Iterable[str | Path] = (),
) -> Path:
    """Write ``tables`` to ``path``: an ``.xlsx`` workbook, or else a folder of ``.csv`` files.

    Parameters
    ----------
    tables
        Table name -> frame; each becomes a sheet (or ``NAME.csv``) in the given order.
    path
        Destination. A name ending in ``.xlsx`` gives a workbook; anything else a folder.
    overwrite
        Replace an existing file, or a folder reinfuse wrote. Off by default: reinfuse never
        overwrites silently, and the output appears whole or not at all.
    protect
        Paths that must not be written over (the inputs).
    """
    path = Path(path)
    excel = path.suffix.lower() == ".xlsx"

    def writer(tmp: Path) -> None:
        if excel:
            with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
                for name, frame in tables.items():
                    _for_output(frame, excel=True).to_excel(xl, sheet_name=name, index=False)
        else:
            tmp.mkdir()
            for name, frame in tables.items():
                _for_output(frame, excel=False).to_csv(tmp / f"{name}.csv", index=False)

    return write_atomically(path, writer, overwrite=overwrite,
                            kind="file" if excel else "folder", protect=protect)


def write_text(text: str, path: str | Path, overwrite: bool = False,
               protect: Iterable[str | Path] = ()) -> Path:
    """Write ``text`` (UTF-8) to the file ``path``, whole or not at all, never silently over
    an existing file (see :mod:`reinfuse.io._atomic`)."""

    def writer(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8", newline="")

    return write_atomically(Path(path), writer, overwrite=overwrite, kind="file",
                            protect=protect)
