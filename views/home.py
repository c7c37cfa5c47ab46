"""Home page, language switch, photo files."""
from flask import Blueprint, abort, redirect, request, session, url_for
from flask_admin import expose
from flask_login import current_user

from .base import SecureIndexView

HOME_SECTIONS = []  # (permission or None, template snippet) added by feature modules


class HomeView(SecureIndexView):
    """The landing page: what the user can do, and their notifications."""

    @expose("/")
    def index(self):
        return self.render("home.html", sections=[t for p, t in HOME_SECTIONS
                                                  if p is None or current_user.has_permission(p)])


bp = Blueprint("home", __name__)


@bp.post("/lang/<code>")
def set_language(code):
    from flask import current_app

    from backoffice.extensions import db

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["locale"] = code
    if current_user.is_authenticated:
        current_user.locale = code
        db.session.commit()
    target = request.form.get("next") or url_for("admin.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("admin.index")
    return redirect(target)


def register_blueprint(app):
    app.register_blueprint(bp)
