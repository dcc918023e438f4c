"""Hand-written SQL for the few statements on the hottest request path (sealed uploads).

Compiling a QuerySet costs more CPU than running it: on this project's machine a lookup of one
model with a join took ~1.2 ms through the ORM and ~0.15 ms as SQL (timed in-process against
PostgreSQL, 500 calls each). An upload burst is CPU-bound (README "Under load"), so the
upload path states its SQL here. Values still pass through every field's database converters
(dates on SQLite, JSON), so the instances are the same as the ORM's. Everything here works on
SQLite and PostgreSQL alike.
"""

from dataclasses import dataclass
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model


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
        values = row[start : start + len(part.fields)]
        start += len(part.fields)
        if all(v is None for v in values):
            instances.append(None)
            continue
        instances.append(
            partial_instance(
                part.model,
                {f: _from_db(part.model, f, v) for f, v in zip(part.fields, values, strict=True)},
            )
        )
    return instances


@cache
def _converters(model: type[Model], attname: str, vendor: str) -> tuple:
    field = model._meta.get_field(attname)
    col = field.get_col(model._meta.db_table)
    return col, tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))


def _from_db(model: type[Model], attname: str, value):
    col, converters = _converters(model, attname, connection.vendor)
    for convert in converters:
        value = convert(value, col, connection)
    return value


def partial_instance(model: type[Model], values: dict) -> Model:
    """An instance with only `values` loaded (attribute names, e.g. `owner_id`); any other
    field is deferred and read on first access, exactly as after QuerySet.only()."""
    # from_db takes the loaded values in the model's field order.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    if len(names) != len(values):
        unknown = sorted(set(values) - set(names))
        raise ValueError(f"{model.__name__} has no field(s) {', '.join(unknown)}")
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


@cache
def _insert_sql(model: type[Model], vendor: str) -> tuple[str, tuple]:
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = connection.ops.quote_name(model._meta.pk.column)
    return f"INSERT INTO {table(model)} ({columns}) VALUES ({marks}) RETURNING {pk}", fields


def insert_row(obj: Model) -> None:
    """INSERT `obj` as Model.save() would for a new row (field defaults and each field's
    database preparation), without the compiler; sets its primary key. Sends no
    pre_save/post_save signals: use it only for models nothing listens to."""
    sql, fields = _insert_sql(type(obj), connection.vendor)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
