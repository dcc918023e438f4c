"""A PostgreSQL cursor whose statements are prepared, for config/lean_sql.py's few.

Django keeps psycopg from preparing anything (its connections have `prepare_threshold` None)
and binds values into the SQL text on the client. The upload path's hand-written statements
have fixed text, so this cursor binds their values on the server and lets psycopg prepare
each one from its second use on a connection (a pooled connection keeps it): PostgreSQL then
plans it once per connection instead of on every request. A connection that is opened for
one request and closed never pays preparing's extra round trip.

The threshold is switched on only while this cursor executes. Left on for the connection,
psycopg would also count every ORM statement it runs (their text, values included, up to
`prepared_max` of them per connection) although they are never prepared.

A prepared statement can go stale behind psycopg's back: a migration that changes the type
of a column it returns makes PostgreSQL refuse it ("cached plan must not change result
type"), and a DEALLOCATE or DISCARD ALL sent through another cursor (or a pooler's reset)
removes it while psycopg still has its name. Outside a transaction the connection's
statements are then dropped and the statement is run again, prepared afresh (nothing ran:
both errors come before execution); inside one the error stands, as the transaction is lost.
"""

import psycopg
from django.conf import settings
from django.db.backends.postgresql.base import TIMESTAMPTZ_OID, ServerBindingCursor
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format, TransactionStatus

PREPARE_FROM_USE = 2  # prepared when run the second time on a connection


def _stale_statement(error: psycopg.Error) -> bool:
    """Whether `error` says a prepared statement is stale (see the module), judged by what
    PostgreSQL does not translate: the SQLSTATE and the server function that raised it."""
    if isinstance(error, psycopg.errors.InvalidSqlStatementName):  # 26000: no such statement
        return True
    return isinstance(error, psycopg.errors.FeatureNotSupported) and (  # 0A000
        error.diag.source_function == "RevalidateCachedQuery"  # "...must not change result type"
    )


class PreparingCursor(ServerBindingCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        if not settings.ARENA_PREPARED_STATEMENTS:
            return super().execute(query, params, prepare=False, binary=binary)
        conn = self.connection
        threshold = conn.prepare_threshold  # None, as Django opens connections
        conn.prepare_threshold = PREPARE_FROM_USE - 1  # uses seen before this one
        try:
            try:
                return super().execute(query, params, prepare=prepare, binary=binary)
            except psycopg.Error as error:
                if not _stale_statement(error) or conn.info.transaction_status != TransactionStatus.IDLE:
                    raise
                # Run through this cursor, psycopg sees the DEALLOCATE and forgets its names too.
                super().execute("DEALLOCATE ALL")
                return super().execute(query, params, prepare=prepare, binary=binary)
        finally:
            conn.prepare_threshold = threshold


def preparing_cursor(django_connection) -> PreparingCursor:
    """A PreparingCursor on `django_connection`'s open psycopg connection, with the time
    zone Django's own cursors read timestamps in (as its create_cursor does)."""
    cursor = PreparingCursor(django_connection.connection)
    loader = django_connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if django_connection.timezone != loader.timezone:
        register_tzloader(django_connection.timezone, cursor)
    return cursor
