"""Real fault tests of the nightly batch: SIGKILL at several points, two batches at once.

Each batch runs as its own ``python -m gxopt batch`` process, exactly as cron would start it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from gxopt.ledger.audit import audit
from gxopt.ledger.db import connect
from gxopt.ledger.tables import certificates
from tests.conftest import REPO
from tests.ledger_support import db_url  # noqa: F401  (fixture)
from tests.test_ledger import SCEN, snapshot


def start_batch(url: str, env_extra: dict[str, str] | None = None, wait: float = 60) -> subprocess.Popen[str]:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "gxopt", "batch", str(SCEN), "--db", url, "--quiet",
                             "--wait", str(wait)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_batch(url: str, **kw: object) -> subprocess.CompletedProcess[str]:
    p = start_batch(url, **kw)  # type: ignore[arg-type]
    out, err = p.communicate(timeout=300)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def void_first(url: str) -> None:
    """Void the first certificate, so the next batch has an order and REPs to issue again."""
    from gxopt.ledger import certificates as certs
    from gxopt.ledger.db import writer

    with writer(connect(url), "test") as c:
        first = c.execute(sa.select(certificates.c.certificate_id).order_by(certificates.c.certificate_id)).scalar()
        certs.void(c, first, "re-issue test")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Uninterrupted runs (SQLite) to compare interrupted ones against: one batch; batch, void, batch."""
    url = f"sqlite:///{tmp_path_factory.mktemp('ref') / 'ref.db'}"
    assert run_batch(url).returncode == 0
    one = snapshot(url)
    void_first(url)
    assert run_batch(url).returncode == 0
    return {"one": one, "void_rerun": snapshot(url)}


@pytest.mark.parametrize("point", ["after_credit", "after_expire", "after_solve", "mid_issue", "before_commit"])
def test_kill_9_leaves_the_ledger_as_before(db_url: str, reference: dict[str, object], point: str) -> None:  # noqa: F811
    # a ledger with history: one full batch, then one certificate voided, so the killed batch has work to do
    assert run_batch(db_url).returncode == 0
    void_first(db_url)
    before = snapshot(db_url)
    killed = run_batch(db_url, env_extra={"GXOPT_FAULT_AT": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert snapshot(db_url) == before
    with connect(db_url).connect() as c:
        assert audit(c) == []
    assert run_batch(db_url).returncode == 0  # rerun after the crash completes the work
    with connect(db_url).connect() as c:
        assert audit(c) == []
    after = snapshot(db_url)
    expected = reference["void_rerun"]
    assert after["certificates"] == expected["certificates"]  # type: ignore[index]
    assert after["balances"] == expected["balances"]  # type: ignore[index]


def test_kill_9_on_a_fresh_ledger(db_url: str, reference: dict[str, object]) -> None:  # noqa: F811
    killed = run_batch(db_url, env_extra={"GXOPT_FAULT_AT": "mid_issue"})
    assert killed.returncode == -signal.SIGKILL
    with connect(db_url).connect() as c:
        assert c.execute(sa.select(sa.func.count()).select_from(certificates)).scalar_one() == 0
        assert audit(c) == []
    assert run_batch(db_url).returncode == 0
    assert snapshot(db_url)["certificates"] == reference["one"]["certificates"]  # type: ignore[index]


def test_two_batches_at_once_never_issue_twice(db_url: str, reference: dict[str, object]) -> None:  # noqa: F811
    a = start_batch(db_url, env_extra={"GXOPT_PAUSE_AT": "after_credit:3"})
    time.sleep(1.0)
    b = start_batch(db_url)
    out_a, err_a = a.communicate(timeout=300)
    out_b, err_b = b.communicate(timeout=300)
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b  # it waited for the lock, then found nothing left to issue
    assert snapshot(db_url)["certificates"] == reference["one"]["certificates"]  # type: ignore[index]
    with connect(db_url).connect() as c:
        assert audit(c) == []


def test_second_batch_stops_with_a_clear_message_when_it_cannot_wait(db_url: str) -> None:  # noqa: F811
    a = start_batch(db_url, env_extra={"GXOPT_PAUSE_AT": "after_credit:6"})
    time.sleep(2.5)
    b = run_batch(db_url, wait=1)
    a.communicate(timeout=300)
    assert a.returncode == 0
    assert b.returncode == 5, b.stderr
    assert "busy" in b.stderr and "Traceback" not in b.stderr
