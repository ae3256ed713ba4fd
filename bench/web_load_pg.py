"""Figure 7 on PostgreSQL: the SQLite campaign the loader made, copied row for
row into a database of a throw-away cluster (``tests/pg_cluster.py``, as
figure 5 starts it), so that two workers can serve the same campaign.

The copy goes under the schema the engine's own ``init`` made there (so its
indexes, triggers and permissions table are the engine's): every table is
emptied and refilled in foreign-key order with the append-only triggers held
off for the session (``session_replication_role = replica``), then each id
sequence is set past the copied ids.  ``audit verify`` on the copy must accept
it: the seals and hashes do not depend on the backend.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Integer, MetaData, Table, create_engine, func, insert, select, text
from sqlalchemy.engine import Connection
from web_load_cpu import parent_of

from workflow import Campaign

_BATCH = 5000


def copy_to_postgres(source: Path, url: str) -> None:
    """Make the campaign at SQLite file ``source`` the content of ``url``."""
    fresh = Campaign.open(url)
    fresh.deliverables.init(actor="office1")
    fresh.store.engine.dispose()
    lite, server = create_engine(f"sqlite:///{source}"), create_engine(url)
    read, written = MetaData(), MetaData()
    read.reflect(lite)
    written.reflect(server)
    tables = [t for t in written.sorted_tables if t.name in read.tables]
    with lite.connect() as origin, server.begin() as target:
        target.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(tables):
            target.execute(table.delete())
        for table in tables:
            rows = origin.execute(select(read.tables[table.name])).mappings()
            while batch := rows.fetchmany(_BATCH):
                target.execute(insert(table), [dict(row) for row in batch])
        for table in tables:
            _past_the_copied(target, table)
        # The log's order comes from a sequence of its own (workflow/store/chains.py).
        target.execute(text("SELECT setval('audit_event_seq', "
                            "(SELECT max(seq) FROM audit_event))"))
    lite.dispose()
    server.dispose()


def _past_the_copied(target: Connection, table: Table) -> None:
    """Set the sequence behind the table's integer key past its largest id."""
    keys = [c for c in table.primary_key.columns if isinstance(c.type, Integer)]
    if len(keys) != 1:
        return
    column = keys[0]
    sequence = target.execute(select(func.pg_get_serial_sequence(table.name, column.name))
                              ).scalar()
    if sequence is None:
        return
    largest = target.execute(select(func.max(column))).scalar()
    if largest is not None:
        target.execute(select(func.setval(sequence, largest)))


def postmaster(url: str) -> int:
    """The PostgreSQL server's main process (its backends are its children)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        backend = int(connection.execute(select(func.pg_backend_pid())).scalar_one())
    engine.dispose()
    return parent_of(backend)
