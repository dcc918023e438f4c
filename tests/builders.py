"""Test data builders shared by the test packages (plain functions, no fixtures)."""

import io

import numpy as np
import pandas as pd

N_IDS = 50


def named_file(data: bytes, name: str) -> io.BytesIO:
    """`data` as an uploaded file called `name` (what a multipart form sends)."""
    f = io.BytesIO(data)
    f.name = name
    return f


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def make_frame(
    *, n: int = N_IDS, with_target: bool = True, seed: int = 0, prefix: str = "id"
) -> pd.DataFrame:
    """`n` rows over 5 eras with 3 features; the target leans on feature_0."""
    rng = np.random.default_rng(seed)
    features = rng.random((n, 3))
    frame = pd.DataFrame(
        {
            "id": [f"{prefix}{i:03d}" for i in range(n)],
            "era": [f"era{i % 5}" for i in range(n)],
            **{f"feature_{j}": features[:, j] for j in range(3)},
        }
    )
    if with_target:
        frame["target"] = np.clip(features[:, 0] * 0.6 + rng.random(n) * 0.4, 0, 1)
    return frame


def predictions_frame(ids: list[str], *, seed: int = 1) -> pd.DataFrame:
    """Valid predictions: one distinct value in (0, 1) per id."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": ids, "prediction": rng.random(len(ids))})


def predictions_csv(ids: list[str], *, seed: int = 1) -> bytes:
    return csv_bytes(predictions_frame(ids, seed=seed))


def seal_for(round, model, data: bytes) -> bytes:
    """`data` sealed as a modeler's client does: to the round's public key, bound to
    (tournament, round, model)."""
    from arena_client.sealing import seal, submission_info

    from tournaments.round_keys import round_public_key

    info = submission_info(round.tournament.slug, round.number, model.id)
    return seal(data, round_public_key(round=round), info)


def sealed_predictions(round, model, ids: list[str], *, seed: int = 1) -> bytes:
    return seal_for(round, model, predictions_csv(ids, seed=seed))
