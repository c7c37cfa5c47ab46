"""Flask-Security-Too set-up: roles as data, throttled login, generic answers."""
from __future__ import annotations

from flask import Flask, request
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_security import Security, SQLAlchemyUserDatastore

from models import Role, User
from models.permissions import ROLES

from .extensions import db, limiter

security = Security()


def user_datastore() -> SQLAlchemyUserDatastore:
    from flask import current_app

    return current_app.extensions["security"].datastore


def _login_failed(response) -> bool:
    # A successful form login redirects; a JSON login answers 200 with the user.
    if request.method != "POST":
        return False
    if request.is_json:
        return response.status_code != 200
    return response.status_code != 302


def _login_account() -> str:
    data = request.get_json(silent=True) if request.is_json else request.form
    email = (data or {}).get("email", "") if data else ""
    return "login-account:" + str(email).strip().lower()


def _login_address() -> str:
    return "login-address:" + (get_remote_address() or "")


def init_security(app: Flask) -> None:
    datastore = SQLAlchemyUserDatastore(db, User, Role)
    security.init_app(app, datastore)

    # At most N failed logins per minute per account and per address (the two keys are
    # independent: an attacker rotating accounts is stopped by the address, one rotating
    # addresses by the account).
    per_minute = f"{app.config['LOGIN_FAILURES_PER_MINUTE']} per minute"
    message = _l("Trop de tentatives de connexion. Réessayez dans une minute.")
    view = app.view_functions["security.login"]
    for key_func, scope in ((_login_account, "login-account"), (_login_address, "login-address")):
        view = limiter.limit(per_minute, key_func=key_func, methods=["POST"], deduct_when=_login_failed,
                             error_message=message, scope=scope)(view)
    app.view_functions["security.login"] = view


def ensure_roles() -> dict[str, Role]:
    """Create or update the five roles with their permissions; returns them by name."""
    datastore = user_datastore()
    roles = {}
    for name, (description, permissions) in ROLES.items():
        role = datastore.find_or_create_role(name)
        role.description = description
        role.permissions = list(permissions)
        roles[name] = role
    db.session.flush()
    return roles


def create_user(email: str, password: str, role: str, concessions=(), **fields) -> User:
    """Create an active user with one role and its concessions (dealer roles)."""
    from flask_security.utils import hash_password

    roles = ensure_roles()
    if role not in roles:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(roles)}")
    user = user_datastore().create_user(email=email.strip().lower(), password=hash_password(password),
                                        roles=[roles[role]], active=True, **fields)
    user.concessions = list(concessions)
    db.session.flush()
    return user
