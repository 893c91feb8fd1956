"""Export bundles asked for in the web pages: queued in the database, made in the background, downloaded later.

A bundle of a year of readings takes minutes, longer than a browser waits, so
the page only queues it; a worker thread of the web process makes it while the
page shows its progress from the job's row. Any web process can show and serve
a finished job, as long as ``[reports] exports_dir`` is storage they share.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so

from fridge_monitor.config import Config
from fridge_monitor.reports import bundle
from fridge_monitor.store import files as storage
from fridge_monitor.store import models as m

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 1.0  # write progress to the database at most this often
STALLED_AFTER = timedelta(minutes=10)  # a running job not heard from for this long died with its process


def exports_dir(config: Config) -> Path:
    """``[reports] exports_dir``, or ``exports`` in the data directory (mode 0700): bundles are records,
    so never a shared temporary directory other local users can list and read."""
    configured = config.reports["exports_dir"]
    return storage.private_dir(Path(configured) if configured else storage.data_dir(config) / "exports")


def file_name(job: m.ExportJob) -> str:
    return (f"fridge-monitor-bundle-{job.id}-{job.period_from:%Y%m%d}-"
            f"{(job.period_to - timedelta(microseconds=1)):%Y%m%d}.zip")


@dataclasses.dataclass(frozen=True, slots=True)
class JobView:
    """A job as the export page shows it."""

    job: m.ExportJob
    state: str  # the stored state, or "failed" for a job whose process died
    error: str | None


def view(job: m.ExportJob, now: datetime) -> JobView:
    if job.state in ("queued", "running") and now - job.updated_at > STALLED_AFTER:
        return JobView(job, "failed", "stopped: the web process making it ended before it finished; ask again")
    return JobView(job, job.state, job.error)


def queue(session: so.Session, request: bundle.Request, *, actor: str, now: datetime) -> m.ExportJob:
    """Record a bundle to be made (in the caller's transaction)."""
    job = m.ExportJob(requested_by=actor, requested_at=now, period_from=request.start, period_to=request.end,
                      fridges=None if request.fridges is None else json.dumps(list(request.fridges)),
                      state="queued", progress=0.0, step="waiting to start", updated_at=now)
    session.add(job)
    session.flush()
    return job


def jobs_for(session: so.Session, limit: int = 20) -> list[m.ExportJob]:
    j = m.ExportJob
    return list(session.scalars(sa.select(j).order_by(j.requested_at.desc(), j.id.desc()).limit(limit)))


class Runner:
    """One worker thread per web process making queued bundles, one at a time (they are heavy)."""

    def __init__(self, engine: sa.Engine, config: Config) -> None:
        self.engine, self.config = engine, config
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def submit(self, job_id: int) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-bundle")
            self._pool.submit(self.run, job_id)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def run(self, job_id: int) -> None:
        """Make the job's bundle; its row says how far it got and how it ended."""
        with so.Session(self.engine, expire_on_commit=False) as session:
            job = session.get(m.ExportJob, job_id)
            if job is None or job.state != "queued":
                return
            request = bundle.Request(job.period_from, job.period_to,
                                     None if job.fridges is None else tuple(json.loads(job.fridges)))
            actor = job.requested_by
            name = file_name(job)
        self._update(job_id, state="running", step="starting")
        last = 0.0

        def progress(step: str, share: float) -> None:
            nonlocal last
            if time.monotonic() - last >= PROGRESS_EVERY_S or share >= 1.0:
                last = time.monotonic()
                self._update(job_id, step=f"writing {step}" if step != "done" else "finishing", progress=share)

        try:
            target = exports_dir(self.config)
            result = bundle.build(self.engine, self.config, request, target / name, actor=actor, progress=progress)
            digest = hashlib.sha256()
            with open(result.path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            self._update(job_id, state="done", step="ready to download", progress=1.0, file_name=name,
                         bytes=result.path.stat().st_size, sha256=digest.hexdigest(),
                         finished_at=datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - the job's row tells the auditor; the log keeps the trace
            log.exception("export job %s failed", job_id)
            self._update(job_id, state="failed", step="failed", error=str(exc) or type(exc).__name__,
                         finished_at=datetime.now(UTC))

    def _update(self, job_id: int, **values: object) -> None:
        with so.Session(self.engine) as session, session.begin():
            session.execute(sa.update(m.ExportJob).where(m.ExportJob.id == job_id)
                            .values(updated_at=datetime.now(UTC), **values))
