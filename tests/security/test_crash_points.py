"""chain/crash_points.py does nothing unless fully armed, and a bad spec never raises (it
runs right after a transaction was mined, where an exception would make it look failed)."""

import chain.crash_points as crash_points


def test_unarmed_half_armed_or_malformed_it_does_nothing(monkeypatch, tmp_path):
    monkeypatch.delenv("ARENA_CRASH_AFTER", raising=False)
    monkeypatch.delenv("ARENA_CRASH_MARKS", raising=False)
    crash_points.after_mined("apply 1 leaves 1/1")
    monkeypatch.setenv("ARENA_CRASH_AFTER", "apply:1")
    crash_points.after_mined("apply 1 leaves 1/1")  # no marks folder: not armed
    monkeypatch.setenv("ARENA_CRASH_MARKS", str(tmp_path))
    monkeypatch.setenv("ARENA_CRASH_AFTER", "apply:x,:3,nonsense")
    crash_points.after_mined("apply 1 leaves 1/1")
    assert list(tmp_path.iterdir()) == []


def test_it_counts_occurrences_and_fires_once(monkeypatch, tmp_path):
    killed = []
    monkeypatch.setattr(crash_points.os, "killpg", lambda group, sig: killed.append(sig))
    monkeypatch.setenv("ARENA_CRASH_MARKS", str(tmp_path))
    monkeypatch.setenv("ARENA_CRASH_AFTER", "apply:2")
    for _ in range(4):
        crash_points.after_mined("apply 1 leaves 1/1")
    crash_points.after_mined("post commitments root 1/1")
    assert len(killed) == 1
    assert (tmp_path / "count-apply").read_text() == "4"
    assert (tmp_path / "fired-apply-2").exists()
