"""The Flask-Admin set-up: one Admin at /, themed, with every view module registered."""
from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from .config import TRANSLATIONS_DIR


def init_admin(app: Flask) -> Admin:
    import warnings

    from views import register_admin_views
    from views.home import HomeView

    # WTForms 3.3 warns about Flask-Admin's select fields; that warning only.
    warnings.filterwarnings("ignore", message=".*raw tuples from iter_choices.*")
    warnings.filterwarnings("ignore", message="Passing SelectField choices as tuples is deprecated",
                            category=DeprecationWarning)
    admin = Admin(
        app,
        name="Backoffice VO",
        url="/",
        endpoint="admin",
        index_view=HomeView(name="Accueil", url="/", endpoint="admin"),
        # Flask-Admin's shipped French .mo lags its .po: we compile the .po ourselves.
        translations_path=str(TRANSLATIONS_DIR / "admin"),
        theme=Bootstrap4Theme(base_template="layout.html", swatch=app.config["FLASK_ADMIN_SWATCH"], fluid=True),
    )
    register_admin_views(admin)
    app.extensions["backoffice_admin"] = admin
    return admin
