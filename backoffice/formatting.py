"""French formatting of numbers, prices and dates for templates and reports."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import format_date, format_datetime, format_decimal


def money(value, digits: int = 0) -> str:
    """12 345 € (French grouping, no decimals by default)."""
    if value is None or value == "":
        return "–"
    return format_decimal(Decimal(value), format="#,##0" + ("." + "0" * digits if digits else "")) + " €"


def number(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""))


def date(value, fmt: str = "dd/MM/yyyy") -> str:
    if value is None:
        return "–"
    return format_date(value, fmt)


def datetime(value, fmt: str = "dd/MM/yyyy HH:mm") -> str:
    if value is None:
        return "–"
    return format_datetime(value, fmt)


def init_app(app) -> None:
    from flask_babel import get_locale
    from flask_login import current_user

    from models.scope import Scope

    app.jinja_env.filters.update(money=money, number=number, fdate=date, fdatetime=datetime)

    @app.context_processor
    def inject_globals():
        return {
            "today": dt.date.today(),
            "current_scope": (lambda: Scope.for_user(current_user)),
            "LANGUAGES": app.config["LANGUAGES"],
            "get_locale": get_locale,
        }
