"""Token amounts as exact integers of the token's smallest unit (wei, 18 decimals).

Stakes and payouts must match the chain to the unit. A 64-bit integer column holds only
~9.2 tokens of wei, and SQLite stores big NUMERIC values as floats, so amounts are kept as
decimal strings in the database and exposed to Python as `int`.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models

TOKEN_DECIMALS = 18
WEI_PER_TOKEN = 10**TOKEN_DECIMALS
# The most wei a token contract can count (uint256); 78 digits, so it fits WeiField's column.
MAX_WEI = 2**256 - 1


def tokens_to_wei(tokens: Decimal | int | str) -> int:
    value = Decimal(str(tokens)) * WEI_PER_TOKEN
    if value != value.to_integral_value():
        raise ValueError(f"{tokens} has more than {TOKEN_DECIMALS} decimals")
    return int(value)


def wei_to_tokens(wei: int) -> Decimal:
    return Decimal(wei) / WEI_PER_TOKEN


class WeiField(models.Field):
    description = "Signed integer token amount in wei, stored exactly"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", 0)
        super().__init__(*args, **kwargs)

    def get_internal_type(self) -> str:
        return "CharField"

    def db_type(self, connection) -> str:
        return "varchar(80)"

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)

    def to_python(self, value):
        if value is None or isinstance(value, int):
            return value
        try:
            return int(str(value))
        except ValueError as exc:
            raise ValidationError(f"'{value}' is not an integer amount of wei") from exc

    def get_prep_value(self, value):
        value = self.to_python(value)
        return None if value is None else str(value)
