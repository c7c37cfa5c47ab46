"""Migrations, demo data, the create-user command, translations."""
import pytest
from sqlalchemy import select

from backoffice.extensions import db
from models import Concession, User, Vehicle


def test_migrations_build_exactly_the_schema_of_the_models(app):
    """`flask db upgrade` on an empty database gives the models' schema: no forgotten migration."""
    import os
    import subprocess
    import sys
    import tempfile

    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import create_engine

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        url = app.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[0] + "/postgres"
        scratch = "migration_check"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {scratch}")
            c.exec_driver_sql(f"CREATE DATABASE {scratch}")
        target = url.rsplit("/", 1)[0] + "/" + scratch
    else:
        target = "sqlite:///" + os.path.join(tempfile.mkdtemp(), "migrated.sqlite3")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, DATABASE_URL=target, BACKOFFICE_ENV="development")
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", "db", "upgrade"], cwd=root, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = create_engine(target)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff[:5]}"
    # The README's first command then builds the demo on the migrated schema.
    demo = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi.py", "demo"], cwd=root,
                          env=dict(env, BACKOFFICE_INSTANCE_PATH=tempfile.mkdtemp()),
                          capture_output=True, text=True)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "demo data built" in demo.stdout


def test_demo_builds_the_guides_organisation_accounts_and_stock(app):
    from backoffice.demo import build

    build(vehicles=150, with_photos=False, log=lambda *_: None)
    concessions = {c.name: sorted(s.name for s in c.sites) for c in db.session.scalars(select(Concession))}
    assert concessions == {"Concession du Nord": ["DAINVILLE", "GAP"],
                           "Concession du Sud": ["AGEN", "MONTAUBAN", "QUIMPER", "RENNES"]}
    emails = set(db.session.scalars(select(User.email)))
    assert {"admin@demo.example", "filiale@demo.example", "vpp@demo.example", "cdv.nord@demo.example",
            "vendeur.nord@demo.example", "cdv.sud@demo.example"} <= emails
    in_stock = db.session.scalars(select(Vehicle).where(Vehicle.status != "VND")).all()
    assert 120 <= len(in_stock) <= 150
    # realistic gaps so that dashboards and filters have something to show
    assert any(v.sale_price_ttc is None for v in in_stock)
    assert any(v.gearbox is None for v in in_stock)
    assert any(v.photo_count == 0 for v in in_stock) and any(v.photo_count >= 12 for v in in_stock)
    assert {v.destination for v in in_stock} >= {"retail", "trade", "none"}
    assert len({v.make for v in in_stock}) >= 10


def test_demo_accounts_log_in_with_the_demo_password(app, client):
    from backoffice.demo import build

    build(vehicles=20, with_photos=False, log=lambda *_: None)
    for email in ("admin@demo.example", "cdv.nord@demo.example", "vpp@demo.example"):
        assert client.login(email, "demo-password").status_code == 302, email


def test_create_user_command(app, network):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "new.cdv@test.example", "--role", "dealer_manager",
                                 "--concession", "NORD", "--password", "a-long-password-123"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "new.cdv@test.example"))
    assert [r.name for r in user.roles] == ["dealer_manager"] and [c.code for c in user.concessions] == ["NORD"]
    refused = runner.invoke(args=["create-user", "x@test.example", "--role", "dealer_staff",
                                  "--password", "a-long-password-123"])
    assert refused.exit_code != 0 and "need at least one --concession" in refused.output


def test_an_admin_creates_a_user_in_the_admin_ui(network, login, client):
    admin = login(network.admin)
    response = admin.form("/users/new/", {"email": "Nouveau@Test.example", "first_name": "Nina",
                                          "roles": [str(network.cdv_nord.roles[0].id)],
                                          "concessions": [str(network.nord.id)], "active": "y",
                                          "new_password": "un-mot-de-passe-long"})
    assert response.status_code == 302
    assert client.login("nouveau@test.example", "un-mot-de-passe-long").status_code == 302


def test_a_dealer_role_without_concession_is_refused(network, login):
    admin = login(network.admin)
    response = admin.form("/users/new/", {"email": "x@test.example", "roles": [str(network.cdv_nord.roles[0].id)],
                                          "active": "y", "new_password": "un-mot-de-passe-long"})
    assert "Un utilisateur concession doit appartenir à une concession." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "x@test.example")) is None


@pytest.mark.no_db
def test_every_foundation_string_has_an_english_translation():
    """The interface is written in French; English is complete for the foundation's screens."""
    import os

    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(root, "translations/en/LC_MESSAGES/messages.po"), "rb") as f:
        catalog = read_po(f)
    files = ("backoffice/security.py", "models/vehicle.py", "views/vehicles.py", "views/organisation.py",
             "views/users.py", "views/base.py", "templates/layout.html", "templates/plain.html",
             "templates/errors/error.html", "templates/security/login_user.html", "templates/home.html",
             "templates/vehicles/photos.html", "templates/vehicles/edit.html", "templates/public/listing.html")
    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    missing = []
    for (filename, _lineno, message, _comments, _context) in extract_from_dir(
            root, method_map, keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None},
            callback=None):
        if filename not in files or not message:
            continue
        msgid = message if isinstance(message, str) else message[0]
        entry = catalog.get(msgid)
        if entry is None or not entry.string:
            missing.append((filename, msgid))
    assert not missing, missing[:10]
