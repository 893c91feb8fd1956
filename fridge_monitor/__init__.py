"""Fridge Monitor: proves that medicines in clinic fridges were stored properly.

The code is in layers. A module imports only from its own package and from
the layers below it, never from a layer above:

1. ``core``: the domain, pure. Readings and their parsers, alarm rules and
   the one episode scanner, statistics and MKT, days, fridge status, lots,
   products and exposure, GS1 barcodes, the audit hash chain, bundle
   manifests, escalation, chart geometry, names. No I/O, no clock, and no
   flask, sqlalchemy, paho, alembic or apscheduler.
2. ``config``: settings and declarations, validated into a frozen Config.
3. ``store`` and ``mqtt``: the adapters. ``store`` holds the database
   (models, engine, migrations, the audit trail, accounts, alarm profiles,
   the dashboard's read model) and the files on disk; ``mqtt`` the MQTT
   client helpers and the embedded broker. ``mqtt`` does not import
   ``store``.
4. The services, each a package: ``inventory`` (the stock ledger and lot
   safety), ``alerts`` (evaluation, acknowledgement, the outbox and
   notification channels, the scheduler role), ``ingest`` (the MQTT
   subscriber, the writer process and its batch inserts), ``reports``
   (CSV exports, bundles, the daily log and the monthly PDF) and ``loggers``
   (importing data-logger files). ``ingest`` and ``loggers`` may use
   ``alerts`` (they judge right after storing), ``alerts``
   may use ``inventory`` (judging a fridge judges the lots in it), and
   ``reports`` may use ``alerts``; nothing else crosses between them.
5. The entry points: ``web`` (Flask pages and the JSON API), ``cli`` and
   ``demo``. They may use everything below; ``web`` uses no ``ingest``
   internals. ``launch`` starts the roles of one process (broker, ingest,
   web, scheduler) for ``cli`` and ``demo`` alike; it sits above ``web``.

``make lint`` checks these rules (import-linter contracts in
pyproject.toml), along with ruff and mypy.
"""

__version__ = "0.1.0"
