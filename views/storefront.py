"""Storefront API (§7): a concession's published offers, read-only, authenticated by a bearer token.

    GET /api/storefront/v1/offers[?date=YYYY-MM-DD]   Authorization: Bearer <token>
    GET /api/storefront/v1/openapi.json                the OpenAPI 3 document of this API

A token belongs to one concession and only ever answers that concession's offers; it is created with
``flask --app wsgi.py storefront-token CODE`` (printed once, only its SHA-256 is stored). Also the
campaign Excel export route (``/campagnes-export/<id>.xlsx``) used by the campaign screens.
"""
from __future__ import annotations

import datetime as dt

import click
from flask import Blueprint, Response, flash, jsonify, redirect, request, url_for
from flask.cli import with_appcontext
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from backoffice.extensions import csrf, db
from models import Concession, Scope
from models.campaign import StorefrontToken, storefront_offers, storefront_token_lookup
from models.clock import utcnow
from models.permissions import CAMPAIGN_DEALER, USERS_ADMIN

from .base import SecureBaseView

API_PREFIX = "/api/storefront/v1"
bp = Blueprint("storefront", __name__, url_prefix=API_PREFIX)
csrf.exempt(bp)


def _error(status: int, message: str):
    response = jsonify({"error": message, "status": status})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="storefront"'
    return response


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@bp.get("/offers")
def offers():
    """The offers the token's concession publishes on the given day (default today)."""
    from jobs.storefront import storefront_document

    token = storefront_token_lookup(db.session, _bearer())
    if token is None:
        return _error(401, "missing, unknown or revoked token")
    raw = request.args.get("date")
    today = dt.date.today()
    if raw is None:
        day = today
    else:
        try:
            day = dt.date.fromisoformat(raw)
        except ValueError:
            return _error(400, "date must be YYYY-MM-DD")
    # Remember use at most hourly: the API stays read-only in practice.
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(hours=1):
        token.last_used_at = now
        db.session.commit()
    document = storefront_document(token.concession, storefront_offers(db.session, token.concession_id, day), day)
    response = jsonify(document)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3 document of the storefront API."""
    return jsonify(openapi_document(request.url_root.rstrip("/") + API_PREFIX))


def openapi_document(server_url: str = API_PREFIX) -> dict:
    """The OpenAPI 3.0 description of this API (served by the app, checked by the tests)."""
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Storefront – offres promotionnelles publiées",
            "version": "1.0.0",
            "description": "Les offres validées d'une concession, pour leur période de validité. "
                           "Lecture seule ; un jeton par concession (en-tête Authorization: Bearer).",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/offers": {
                "get": {
                    "operationId": "listOffers",
                    "summary": "Offres publiées par la concession du jeton",
                    "parameters": [{
                        "name": "date", "in": "query", "required": False,
                        "description": "Jour considéré (AAAA-MM-JJ) ; par défaut aujourd'hui.",
                        "schema": {"type": "string", "format": "date"},
                    }],
                    "responses": {
                        "200": {"description": "Les offres publiées ce jour-là.",
                                "content": {"application/json": {
                                    "schema": {"$ref": "#/components/schemas/Storefront"}}}},
                        "400": {"description": "Paramètre invalide.",
                                "content": {"application/json": {"schema": error}}},
                        "401": {"description": "Jeton absent, inconnu ou révoqué.",
                                "content": {"application/json": {"schema": error}}},
                    },
                },
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object", "required": ["error", "status"],
                    "properties": {"error": {"type": "string"}, "status": {"type": "integer"}},
                },
                "Storefront": {
                    "type": "object", "required": ["version", "concession", "date", "offers"],
                    "properties": {
                        "version": {"type": "string"},
                        "concession": {
                            "type": "object", "required": ["code", "name"],
                            "properties": {"code": {"type": "string"}, "name": {"type": "string"}},
                        },
                        "date": {"type": "string", "format": "date"},
                        "offers": {"type": "array", "items": {"$ref": "#/components/schemas/Offer"}},
                    },
                },
                "Offer": {
                    "type": "object",
                    "required": ["id", "reference", "label", "discount", "start_date", "end_date", "campaign"],
                    "properties": {
                        "id": {"type": "integer"},
                        "reference": {"type": "string", "description": "Référence produit / modèle"},
                        "label": {"type": "string"},
                        "category": {"type": "string", "nullable": True},
                        "discount": {
                            "type": "object", "required": ["kind", "value"],
                            "properties": {"kind": {"type": "string", "enum": ["amount", "percent"]},
                                           "value": {"type": "number"}},
                        },
                        "conditions": {"type": "string", "nullable": True},
                        "start_date": {"type": "string", "format": "date"},
                        "end_date": {"type": "string", "format": "date"},
                        "campaign": {"type": "string"},
                    },
                },
            },
        },
    }


# Excel export of a campaign (the campaign screens link here) -----------------------------------------
export_bp = Blueprint("campaign_export", __name__)


@export_bp.get("/campagnes-export/<int:campaign_id>.xlsx")
@login_required
def campaign_excel(campaign_id):
    """The campaign as an Excel workbook (offers, per-concession validation, statistics)."""
    from flask import abort

    from models.campaign import get_campaign_or_404
    from models.permissions import CAMPAIGN_READ, CAMPAIGN_VALIDATE
    from reports.campaign_excel import campaign_workbook

    if not (current_user.has_permission(CAMPAIGN_READ) or current_user.has_permission(CAMPAIGN_VALIDATE)):
        abort(403)
    campaign = get_campaign_or_404(current_user, campaign_id)
    data = campaign_workbook(db.session, campaign.id, current_user)
    filename = f"campagne-{campaign.id}-{campaign.start_date:%Y-%m}.xlsx"
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@click.command("storefront-token")
@click.argument("concession_code")
@click.option("--name", default="Storefront", show_default=True, help="What the token is for.")
@with_appcontext
def storefront_token_command(concession_code, name):
    """Create a storefront API token for a concession and print it (it is shown only once)."""
    from models.campaign import issue_storefront_token

    concession = db.session.execute(select(Concession).where(Concession.code == concession_code)).scalar_one_or_none()
    if concession is None:
        raise click.ClickException(f"unknown concession code {concession_code}")
    row, plain = issue_storefront_token(db.session, concession.id, name)
    db.session.commit()
    click.echo(f"token for {concession.name} ({row.prefix}…), keep it now, it is not shown again:")
    click.echo(plain)


# Storefront tokens screen (Promotions › Vitrine – accès API) --------------------------------------------
class StorefrontTokenView(SecureBaseView):
    """A CDV manages their concession's storefront tokens; the admin every concession's."""

    def is_accessible(self) -> bool:
        return (current_user.is_authenticated and current_user.active
                and (current_user.has_permission(CAMPAIGN_DEALER) or current_user.has_permission(USERS_ADMIN)))

    def _concessions(self):
        scope = Scope.for_user(current_user)
        return db.session.execute(scope.filter(select(Concession), Concession).order_by(Concession.name)
                                  ).scalars().all()

    def _page(self, new_token=None, errors=None, values=None, status=200):
        scope = Scope.for_user(current_user)
        tokens = db.session.execute(scope.filter(select(StorefrontToken), StorefrontToken)
                                    .order_by(StorefrontToken.revoked_at.is_not(None), StorefrontToken.created_at.desc())
                                    ).scalars().all()
        return self.render("storefront/tokens.html", tokens=tokens, concessions=self._concessions(),
                           new_token=new_token, errors=errors or {}, values=values or {},
                           api_url=request.url_root.rstrip("/") + API_PREFIX), status

    @expose("/")
    def index(self):
        return self._page()

    @expose("/new", methods=("POST",))
    def create(self):
        from models.campaign import issue_storefront_token

        values = {"name": (request.form.get("name") or "").strip(), "concession_id": request.form.get("concession_id")}
        errors = {}
        concession = Scope.for_user(current_user).get(Concession, values["concession_id"])
        if concession is None:
            errors["concession_id"] = _("Choisissez une concession.")
        if not values["name"]:
            errors["name"] = _("Saisissez un nom (à quoi sert ce jeton).")
        elif len(values["name"]) > 120:
            errors["name"] = _("Le nom ne peut pas dépasser 120 caractères.")
        if errors:
            return self._page(errors=errors, values=values, status=400)
        row, plain = issue_storefront_token(db.session, concession.id, values["name"], current_user.id)
        db.session.commit()
        # Shown in this answer only (never in a redirect's flash message: the session cookie is readable).
        return self._page(new_token=(row, plain))

    @expose("/<int:token_id>/revoke", methods=("POST",))
    def revoke(self, token_id):
        row = Scope.for_user(current_user).get_or_404(StorefrontToken, token_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            db.session.commit()
        flash(_("Jeton « %(name)s » révoqué : la vitrine qui l'utilise n'a plus accès aux offres.", name=row.name),
              "success")
        return redirect(url_for(".index"))


def register_admin(admin):
    admin.add_view(StorefrontTokenView(name=_l("Vitrine – accès API"), endpoint="storefront_tokens",
                                       url="/storefront-tokens", category=_l("Promotions")))


def register_blueprint(app):
    app.register_blueprint(bp)
    app.register_blueprint(export_bp)
    app.cli.add_command(storefront_token_command)
    from jobs.campaign_stats import campaigns_cli

    app.cli.add_command(campaigns_cli)
