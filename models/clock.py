"""Time helpers: timestamps are stored as naive UTC and shown in Europe/Paris."""
import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
