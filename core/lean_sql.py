"""Hand-written SQL for the few statements on the hottest request path (sealed uploads).

Compiling a QuerySet costs more CPU than running it: on this project's machine a lookup of one
model with a join took ~1.2 ms through the ORM and ~0.15 ms as SQL (timed in-process against
PostgreSQL, 500 calls each). An upload burst is CPU-bound (docs/performance.md), so the
upload path states its SQL here. Values still pass through every field's database converters
(dates on SQLite, JSON), so the instances are the same as the ORM's. The statements run on
Django's own `connection.cursor()`, bound on the client as Django binds all its queries.
Everything here works on SQLite and PostgreSQL alike.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import DEFERRED, Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[Model], field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


@dataclass(frozen=True)
class Part:
    """Some fields (attribute names: `owner_id`, `slug`) of `model`, read through table
    alias `alias` in a hand-written SELECT."""

    model: type[Model]
    alias: str
    fields: tuple[str, ...]

    def columns(self) -> str:
        return ", ".join(f"{self.alias}.{column(self.model, f)}" for f in self.fields)


def select_list(*parts: Part) -> str:
    return ", ".join(part.columns() for part in parts)


def split_row(row: tuple, *parts: Part) -> list[Model | None]:
    """The instances a row of `SELECT select_list(*parts)` holds, each value passed through
    its field's database converters as the ORM would; None for a part whose values are all
    NULL (an outer join that found nothing)."""
    instances, start = [], 0
    for part in parts:
        loader = _loader(part, connection.vendor)
        values = row[start : start + len(part.fields)]
        start += len(part.fields)
        instances.append(None if all(v is None for v in values) else loader.instance(values))
    return instances


@dataclass(frozen=True)
class _Loader:
    """How a part's values become an instance, worked out once per part and vendor: where
    each value goes among the model's fields, and which need converting."""

    model: type[Model]
    names: tuple[str, ...]  # every concrete field's attribute name, in the model's order
    positions: tuple[int, ...]  # for each value of the part, its index among concrete fields
    template: tuple  # every concrete field DEFERRED, filled in per row
    conversions: tuple[tuple[int, object, tuple], ...]  # (value index, column, converters)

    def instance(self, values: tuple) -> Model:
        loaded = list(self.template)
        for position, value in zip(self.positions, values, strict=True):
            loaded[position] = value
        for index, col, converters in self.conversions:
            value = values[index]
            for convert in converters:
                value = convert(value, col, connection)
            loaded[self.positions[index]] = value
        # Full length, DEFERRED where not read: from_db passes it straight to the
        # constructor, and a deferred field is read on first access, as after only().
        return self.model.from_db(DEFAULT_DB_ALIAS, self.names, loaded)


@cache
def _loader(part: Part, vendor: str) -> _Loader:
    concrete = [f.attname for f in part.model._meta.concrete_fields]
    unknown = sorted(set(part.fields) - set(concrete))
    if unknown:
        raise ValueError(f"{part.model.__name__} has no field(s) {', '.join(unknown)}")
    conversions = []
    for index, attname in enumerate(part.fields):
        col = part.model._meta.get_field(attname).get_col(part.model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        if converters:
            conversions.append((index, col, converters))
    return _Loader(
        model=part.model,
        names=tuple(concrete),
        positions=tuple(concrete.index(f) for f in part.fields),
        template=(DEFERRED,) * len(concrete),
        conversions=tuple(conversions),
    )


@cache
def _insert_sql(model: type[Model], vendor: str, condition: str | None) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = connection.ops.quote_name(model._meta.pk.column)
    if condition is None:
        return f"INSERT INTO {table(model)} ({columns}) VALUES ({marks}) RETURNING {pk}", fields
    # INSERT ... SELECT: PostgreSQL types each value by its target column, as with VALUES.
    return (
        f"INSERT INTO {table(model)} ({columns}) SELECT {marks} WHERE EXISTS ({condition}) "
        f"RETURNING {pk}",
        fields,
    )


def insert_row(obj: Model, only_if: str | None = None, only_if_params: Sequence = ()) -> bool:
    """INSERT `obj` as Model.save() would for a new row (field defaults and each field's
    database preparation), without the compiler; sets its primary key. Sends no
    pre_save/post_save signals: use it only for models nothing listens to.

    `only_if`, a SELECT (with `only_if_params`), makes the insert conditional in the same
    statement: the row is inserted only if that SELECT finds a row. Returns whether it was.
    """
    sql, fields = _insert_sql(type(obj), connection.vendor, only_if)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *only_if_params])
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    # As Model.save() leaves it: saved, in the default database. `Model._state` and its
    # `adding` and `db` are documented API despite the underscore (Django's "Model instance
    # reference"); without them full_clean() would take the new row for a duplicate.
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
    return True
