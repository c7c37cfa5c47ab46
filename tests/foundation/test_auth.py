"""Login, throttling, logout by POST, generic answers, CSRF, production secrets (§1, issue 2)."""
import re

import pytest

from backoffice.extensions import db
from models import Vehicle


def test_login_with_the_right_password_lands_on_the_home_page(network, client):
    response = client.login("cdv.nord@test.example")
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "Bonjour" in home and "Se déconnecter" in home


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(network, client):
    wrong = client.login("cdv.nord@test.example", "not-the-password").get_data(as_text=True)
    unknown = client.login("nobody@test.example", "not-the-password").get_data(as_text=True)
    assert "Connexion" in wrong
    # Generic response: the page cannot tell whether the account exists.
    def strip(html):  # the typed e-mail and the (signed, time-stamped) CSRF token differ by nature
        html = html.replace("cdv.nord@test.example", "").replace("nobody@test.example", "")
        return re.sub(r'name="csrf_token"[^>]*value="[^"]*"', "", html)
    assert strip(wrong) == strip(unknown)


def test_five_failures_per_minute_then_a_clear_message_even_with_the_right_password(network, client):
    for _ in range(5):
        assert client.login("cdv.nord@test.example", "wrong-password").status_code == 200
    blocked = client.login("cdv.nord@test.example")
    assert blocked.status_code == 429
    assert "Trop de tentatives de connexion. Réessayez dans une minute." in blocked.get_data(as_text=True)


def test_throttling_is_per_account_too_across_addresses(network, app):
    from tests.conftest import BackofficeClient

    for i in range(5):
        c = BackofficeClient(app.test_client())
        c.client.environ_base["REMOTE_ADDR"] = f"10.0.0.{i + 1}"
        c.login("cdv.sud@test.example", "wrong-password")
    c = BackofficeClient(app.test_client())
    c.client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert c.login("cdv.sud@test.example").status_code == 429
    # another account from that address is not affected
    other = BackofficeClient(app.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "10.0.0.99"
    assert other.login("cdv.nord@test.example").status_code == 302


def test_successful_logins_do_not_count_as_failures(network, client):
    for _ in range(7):
        assert client.login("vendeur.nord@test.example").status_code == 302


def test_logout_is_refused_by_get_and_works_by_post(network, login):
    client = login(network.cdv_nord)
    assert client.get("/auth/logout").status_code == 405
    assert client.get("/").status_code == 200  # still logged in
    token = client.csrf_token
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_there_is_no_self_registration(client):
    assert client.get("/auth/register").status_code == 404


@pytest.mark.parametrize("url, data", [
    ("/vehicles/new/", {"entry_number": "1", "make": "X", "model": "Y"}),
    ("/vehicles/delete/", {"id": "1"}),
    ("/vehicles/action/", {"action": "delete", "rowid": "1"}),
    ("/auth/logout", {}),
    ("/lang/en", {}),
])
def test_a_mutating_request_without_csrf_token_is_refused_and_changes_nothing(network, factories, login, url, data):
    vehicle = factories.vehicle(network.gap)
    client = login(network.cdv_nord)
    response = client.post(url.replace("1", str(vehicle.id)) if "delete" in url else url, data=data)
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    assert db.session.query(Vehicle).count() == 1
    assert client.get("/").status_code == 200  # logout without token did not log out


def test_cookies_are_http_only_and_same_site(network, client):
    response = client.login("cdv.nord@test.example")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def _in_a_fresh_process(code, **env):
    """Run ``code`` in a new interpreter: a second app in this process would rebind the extensions."""
    import os
    import subprocess
    import sys

    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "SECURITY_PASSWORD_SALT")}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.no_db
def test_production_refuses_to_start_with_development_secrets():
    start = "from backoffice import create_app; create_app('production')"
    missing = _in_a_fresh_process(start)
    assert missing.returncode != 0 and "SECRET_KEY must be set" in missing.stderr
    short_salt = _in_a_fresh_process(start, SECRET_KEY="x" * 40, SECURITY_PASSWORD_SALT="short")
    assert short_salt.returncode != 0 and "SECURITY_PASSWORD_SALT must be set" in short_salt.stderr


@pytest.mark.no_db
def test_production_uses_argon2_and_secure_cookies():
    result = _in_a_fresh_process(
        "from backoffice import create_app\n"
        "from flask_security.utils import hash_password, verify_password\n"
        "app = create_app('production')\n"
        "assert app.config['SESSION_COOKIE_SECURE'] and app.config['REMEMBER_COOKIE_SECURE']\n"
        "with app.app_context():\n"
        "    hashed = hash_password('demo-password')\n"
        "    assert hashed.startswith('$argon2'), hashed\n"
        "    assert verify_password('demo-password', hashed)\n"
        "print('ok')\n",
        SECRET_KEY="k" * 40, SECURITY_PASSWORD_SALT="s" * 40)
    assert result.stdout.strip() == "ok", result.stderr


def test_the_interface_is_french_and_english_on_request(network, login):
    client = login(network.cdv_nord)
    assert "Stock VO" in client.get("/vehicles/").get_data(as_text=True)
    assert "Créer" in client.get("/vehicles/").get_data(as_text=True)  # Flask-Admin's own French
    client.form("/lang/en")
    body = client.get("/vehicles/").get_data(as_text=True)
    assert "Create" in body and "Log out" in body
