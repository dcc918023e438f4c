"""Reading and checking tabular uploads (data sets and targets), CSV or Parquet.

Every check runs before anything is stored; errors name the problem, the counts and the
first few offending ids/rows.
"""

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InvalidInput, TooLarge

FIRST_FEW = 5


def read_table(data: bytes, filename: str) -> pd.DataFrame:
    """Parse CSV or Parquet by file extension (Parquet also by its magic bytes)."""
    name = filename.lower()
    try:
        if name.endswith(".parquet") or data[:4] == b"PAR1":
            return pd.read_parquet(io.BytesIO(data))
        if name.endswith(".csv") or name.endswith(".txt") or not name:
            # ids and eras stay text: "0012" must not become 12.
            return pd.read_csv(io.BytesIO(data), dtype={"id": str, "era": str})
    except MemoryError as exc:
        raise TooLarge(f"{filename or 'the file'} needs more memory to read than is allowed") from exc
    except Exception as exc:  # noqa: BLE001 - parser errors vary by engine; all mean "unreadable"
        raise InvalidInput(f"could not read {filename or 'the file'}: {exc}") from exc
    raise InvalidInput(f"unsupported file type {filename!r}: upload .csv or .parquet")


def _first(values) -> list:
    return [v.item() if hasattr(v, "item") else v for v in list(values)[:FIRST_FEW]]


def check_unique_ids(df: pd.DataFrame) -> None:
    ids = df["id"].astype(str)
    dup_mask = ids.duplicated(keep=False)
    if dup_mask.any():
        dups = ids[dup_mask].unique()
        raise InvalidInput(
            f"{len(dups)} duplicate id(s); first: {', '.join(_first(dups))}",
            details={"duplicate_ids": len(dups), "first": _first(dups)},
        )


@dataclass(frozen=True)
class DatasetSummary:
    rows: int
    n_eras: int
    feature_names: list[str]
    has_target: bool


def check_dataset(df: pd.DataFrame, *, require_target: bool) -> DatasetSummary:
    """A data set has `id`, `era`, one or more `feature_*` columns and (except live) `target`."""
    required = ["id", "era"] + (["target"] if require_target else [])
    missing = [c for c in required if c not in df.columns]
    features = [c for c in df.columns if str(c).startswith("feature_")]
    if not features:
        missing.append("feature_* (at least one)")
    if missing:
        raise InvalidInput(
            f"missing column(s): {', '.join(missing)}; found: {', '.join(map(str, df.columns[:12]))}",
            details={"missing_columns": missing},
        )
    if len(df) == 0:
        raise InvalidInput("the file has no rows")
    check_unique_ids(df)
    numeric_cols = features + (["target"] if "target" in df.columns else [])
    for col in numeric_cols:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna() | ~np.isfinite(values.fillna(0))
        if bad.any():
            rows = np.flatnonzero(bad.to_numpy())
            raise InvalidInput(
                f"column {col}: {len(rows)} non-numeric or infinite value(s); first rows: "
                f"{', '.join(str(r) for r in rows[:FIRST_FEW])}",
                details={"column": col, "bad_rows": len(rows), "first_rows": rows[:FIRST_FEW].tolist()},
            )
    if require_target and df["target"].isna().any():
        rows = np.flatnonzero(df["target"].isna().to_numpy())
        raise InvalidInput(
            f"column target: {len(rows)} missing value(s); first rows: "
            f"{', '.join(str(r) for r in rows[:FIRST_FEW])}",
            details={"column": "target", "bad_rows": len(rows)},
        )
    return DatasetSummary(
        rows=len(df),
        n_eras=int(df["era"].nunique()),
        feature_names=features,
        has_target="target" in df.columns,
    )


def check_targets(df: pd.DataFrame, live_ids: list[str]) -> pd.Series:
    """A target file is `id,target`, one finite number for every live id, no unknown ids."""
    missing_cols = [c for c in ("id", "target") if c not in df.columns]
    if missing_cols:
        raise InvalidInput(f"missing column(s): {', '.join(missing_cols)}; expected id,target")
    check_unique_ids(df)
    ids = df["id"].astype(str)
    live = pd.Index(live_ids)
    unknown = ids[~ids.isin(live)]
    if len(unknown):
        raise InvalidInput(
            f"{len(unknown)} unknown id(s) not in the live data; first: {', '.join(_first(unknown))}",
            details={"unknown_ids": len(unknown), "first": _first(unknown)},
        )
    missing = live[~live.isin(ids)]
    if len(missing):
        raise InvalidInput(
            f"{len(missing)} live id(s) missing; first: {', '.join(_first(missing))}",
            details={"missing_ids": len(missing), "first": _first(missing)},
        )
    values = pd.to_numeric(df["target"], errors="coerce")
    bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        bad_ids = ids[bad]
        raise InvalidInput(
            f"{int(bad.sum())} target value(s) missing, non-numeric or infinite; first ids: "
            f"{', '.join(_first(bad_ids))}",
            details={"bad_rows": int(bad.sum()), "first": _first(bad_ids)},
        )
    if values.nunique() < 2:
        raise InvalidInput("the target is constant: it cannot score anything")
    return pd.Series(values.to_numpy(dtype=float), index=ids).reindex(live)


def to_parquet_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()
