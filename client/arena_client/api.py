"""A small Python client for the platform's REST API (httpx), used by the ``arena`` command.

Every call raises :class:`ApiError` with the platform's error code and message when the
platform refuses, and :class:`ServerUnreachable` when it cannot be reached, so callers never
see a raw HTTP exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from . import __version__
from .cid import cid_for_digest

CHUNK = 256 * 1024
Progress = Callable[[int], None]


class ServerUnreachable(Exception):
    """No answer from the platform: connection refused, DNS failure, timeout."""


class ApiError(Exception):
    """The platform answered with an error (its JSON error shape when it has one)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


class DownloadMismatch(Exception):
    """The downloaded bytes do not hash to the content id the platform published."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    cid: str
    size: int
    status: str  # "downloaded", "resumed" or "present"
    resumed_from: int = 0


class ArenaApi:
    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": f"arena-client/{__version__}", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArenaApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------------

    def _request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise ServerUnreachable(f"cannot reach the platform at {self.base_url}: {error}") from None
        _raise_for_error(response)
        return response

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def _all(self, path: str, **params: Any) -> list[dict]:
        """Every item of a paginated list (follows `next`)."""
        page = self._get(path, **params)
        items = list(page["results"])
        while page.get("next"):
            page = self._request("GET", page["next"]).json()
            items += page["results"]
        return items

    # --- reads -----------------------------------------------------------------------------

    def me(self) -> dict:
        return self._get("/api/me")

    def platform(self) -> dict:
        return self._get("/api/platform")

    def tournaments(self) -> list[dict]:
        return self._all("/api/tournaments")

    def rounds(self, slug: str) -> list[dict]:
        return self._all(f"/api/tournaments/{slug}/rounds")

    def round(self, slug: str, number: int) -> dict:
        return self._get(f"/api/tournaments/{slug}/rounds/{number}")

    def datasets(self, slug: str) -> list[dict]:
        return self._all(f"/api/tournaments/{slug}/datasets")

    def models(self, tournament: str | None = None) -> list[dict]:
        return self._all("/api/models", tournament=tournament)

    def submissions(self, model_id: int) -> list[dict]:
        return self._all(f"/api/models/{model_id}/submissions")

    def proof(self, model_id: int, submission_id: int) -> dict:
        return self._get(f"/api/models/{model_id}/submissions/{submission_id}/proof")

    def scores(self, model_id: int) -> list[dict]:
        return self._all(f"/api/models/{model_id}/scores")

    # --- writes ----------------------------------------------------------------------------

    def model_create(self, name: str, tournament: str) -> dict:
        return self._request(
            "POST", "/api/models", json={"name": name, "tournament": tournament}
        ).json()

    def submit(
        self, model_id: int, envelope: bytes, filename: str, progress: Progress | None = None
    ) -> dict:
        """Upload a sealed envelope as the raw request body; `progress(n)` per chunk sent."""

        def chunks() -> Iterator[bytes]:
            for start in range(0, len(envelope), CHUNK):
                chunk = envelope[start : start + CHUNK]
                yield chunk
                if progress:
                    progress(len(chunk))

        headers = {
            "Content-Type": "application/octet-stream",
            # An explicit length: some servers cannot read a chunked request body.
            "Content-Length": str(len(envelope)),
            "Content-Disposition": f'attachment; filename="{filename}"',
        }
        return self._request(
            "POST", f"/api/models/{model_id}/submissions", content=chunks(), headers=headers
        ).json()

    # --- downloads -------------------------------------------------------------------------

    def download(
        self,
        dataset: dict,
        dest: Path,
        *,
        progress: Callable[[int, int], Progress] | None = None,
    ) -> Downloaded:
        """Fetch a data file into `dest`, resuming a `.part` left by an interrupted run (HTTP
        Range with If-Range on the content id), and check it hashes to the published CID.

        `progress(total, initial)` may return a callback taking the bytes of each chunk.
        """
        cid = dataset["cid"]
        dest.mkdir(parents=True, exist_ok=True)
        final = dest / _file_name(dataset)
        if final.exists() and _file_cid(final) == cid:
            return Downloaded(final, cid, final.stat().st_size, "present")
        part = final.with_name(final.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-", "If-Range": f'"{cid}"'} if have else {}
        try:
            with self._http.stream("GET", dataset["download_url"], headers=headers) as response:
                if response.status_code == 416:  # the .part already holds the whole file
                    response.read()
                elif response.status_code in (200, 206):
                    if response.status_code == 200:
                        have = 0  # the server sent the whole file: start over
                    length = int(response.headers.get("Content-Length") or 0)
                    tick = progress(have + length, have) if progress else None
                    with part.open("ab" if have else "wb") as fh:
                        for chunk in response.iter_bytes(CHUNK):
                            fh.write(chunk)
                            if tick:
                                tick(len(chunk))
                else:
                    response.read()
                    _raise_for_error(response)
        except httpx.TransportError as error:
            raise ServerUnreachable(
                f"download of {final.name} interrupted ({error}); run the command again to resume"
            ) from None
        got = _file_cid(part)
        if got != cid:
            part.unlink()
            raise DownloadMismatch(
                f"{final.name}: the downloaded bytes hash to {got}, not the published {cid}; "
                "the partial file was removed, run the command again"
            )
        part.replace(final)
        return Downloaded(final, cid, final.stat().st_size, "resumed" if have else "downloaded", have)


def _file_name(dataset: dict) -> str:
    suffix = ".parquet" if dataset["filename"].lower().endswith((".parquet", ".pq")) else ".csv"
    live = f"-round{dataset['round']}" if dataset.get("round") else ""
    return f"{dataset['kind']}{live}-v{dataset['version']}{suffix}"


def _file_cid(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return cid_for_digest(digest.digest())


def _raise_for_error(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message, details = error["code"], error["message"], error.get("details")
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", f"HTTP {response.status_code}", None
    raise ApiError(response.status_code, code, message, details)
