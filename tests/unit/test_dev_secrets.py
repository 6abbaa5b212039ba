"""Dev secrets made once, also by processes starting together on a new data dir (a
gateway's workers under `make up` raced to make the receipt secret: one failed)."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

from services.runtime.dev_secrets import dev_secret


def _make(data_dir: Path, start: object, answers: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    answers.put(dev_secret(data_dir, "receipt-secret"))  # type: ignore[attr-defined]


def test_processes_starting_together_share_one_secret(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    start, answers = ctx.Barrier(8), ctx.Queue()
    workers = [ctx.Process(target=_make, args=(tmp_path, start, answers)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [w.exitcode for w in workers] == [0] * 8
    made = {answers.get(timeout=5) for _ in workers}
    assert len(made) == 1 and "" not in made
    path = tmp_path / "receipt-secret"
    assert made == {path.read_text().strip()}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["receipt-secret"]  # no draft left


def test_a_secret_made_is_read_again(tmp_path: Path) -> None:
    assert dev_secret(tmp_path, "qr-secret") == dev_secret(tmp_path, "qr-secret")
