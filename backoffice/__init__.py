"""The backoffice application factory."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, has_request_context, render_template, request, session
from flask_login import current_user

from .config import config_for
from .extensions import babel, csrf, db, limiter, mail, migrate


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the app for ``config_name`` (development, testing, production)."""
    config = config_for(config_name)
    if hasattr(config, "check"):
        config.check()
    app = Flask(
        __name__,
        instance_path=config.INSTANCE_PATH,
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
        static_folder=str(Path(__file__).resolve().parent.parent / "static"),
    )
    app.config.from_object(config)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)

    register_extensions(app)
    register_security(app)
    register_admin(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return app


def _select_locale():
    if not has_request_context():  # jobs, CLI and tests outside a request: the default (French)
        return None
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    return session.get("locale") or request.accept_languages.best_match(["fr"]) or "fr"


def register_extensions(app: Flask) -> None:
    import models  # noqa: F401  (registers every table with the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    babel.init_app(app, locale_selector=_select_locale)
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)


def register_security(app: Flask) -> None:
    from .security import init_security

    init_security(app)


def register_admin(app: Flask) -> None:
    from .admin import init_admin

    init_admin(app)


def register_blueprints(app: Flask) -> None:
    from views import register_blueprints as register_view_blueprints

    register_view_blueprints(app)


def register_errorhandlers(app: Flask) -> None:
    def render_error(error):
        code = getattr(error, "code", 500) or 500
        if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
            return {"error": getattr(error, "name", "Error"), "status": code}, code
        return render_template("errors/error.html", code=code, error=error), code

    for code in (400, 403, 404, 405, 413, 429, 500):
        app.errorhandler(code)(render_error)


def register_template_helpers(app: Flask) -> None:
    from . import formatting

    formatting.init_app(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
