"""Secure-by-default admin views. Every Flask-Admin view of the backoffice derives from these.

``SecureModelView``: authenticated + permission, login redirect or 403, CSRF on every form
(FlaskForm as the form base and CSRFProtect app-wide), explicit export columns with
spreadsheet formulas neutralised.

``ConcessionScopedModelView``: everything above, plus the concession scope applied to
``get_query``, ``get_count_query`` and ``get_one`` together; a row outside the scope answers
404 on every route (details, edit, delete, actions, ajax update, export) and is never changed;
relation choices and ajax lookups scoped; the concession stamped on create.
"""
from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView
from flask_admin.babel import gettext as admin_gettext  # noqa: F401
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
from flask_admin.model.form import InlineFormAdmin  # noqa: F401
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import inspect
from wtforms.validators import ValidationError

from backoffice.extensions import db
from models.scope import MAX_ID, Scope, parse_id

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """Spreadsheets execute cells starting with = + - @: prefix them with a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def current_scope() -> Scope:
    return Scope.for_user(current_user)


class SecureViewMixin:
    """Authenticated, active, and holding ``permission`` (None: any authenticated user)."""
    permission: str | None = None

    def is_accessible(self) -> bool:
        if not (current_user.is_authenticated and current_user.active):
            return False
        return self.permission is None or current_user.has_permission(self.permission)

    def is_visible(self) -> bool:
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("security.login", next=request.full_path))
        abort(403)


class SecureBaseView(SecureViewMixin, BaseView):
    """A custom (non-CRUD) page: dashboards, calendar, send history."""


class SecureIndexView(SecureViewMixin, AdminIndexView):
    pass


class SecureModelView(SecureViewMixin, ModelView):
    """CRUD view; ``write_permission`` is needed to create, edit or delete."""
    form_base_class = FlaskForm
    write_permission: str | None = None
    allow_create = True
    allow_edit = True
    allow_delete = True
    can_view_details = True
    page_size = 50
    can_set_page_size = True
    export_types = ["csv", "xlsx"]
    column_export_list: list[str] | None = None

    def __init__(self, model, session=None, **kwargs):
        if self.can_export and not self.column_export_list:
            raise TypeError(f"{type(self).__name__}: exports must list their columns explicitly")
        super().__init__(model, session or db, **kwargs)

    def _may_write(self) -> bool:
        return current_user.is_authenticated and (
            self.write_permission is None or current_user.has_permission(self.write_permission))

    @property
    def can_create(self):
        return self.allow_create and self._may_write()

    @property
    def can_edit(self):
        return self.allow_edit and self._may_write()

    @property
    def can_delete(self):
        return self.allow_delete and self._may_write()

    def is_action_allowed(self, name):
        if name == "delete" and not self.can_delete:
            return False
        return super().is_action_allowed(name)

    def get_export_value(self, model, name):
        return neutralise_formula(super().get_export_value(model, name))

    def get_one(self, id):
        # A typed id that is not a plain key (huge, composite, text) names no row: 404, never a 500.
        ident = parse_id(id)
        row = db.session.get(self.model, ident) if ident is not None else None
        if row is None:
            abort(404)
        return row

    def _get_list_extra_args(self):
        view_args = super()._get_list_extra_args()
        # A page beyond what the database can offset is simply past the end of the list.
        if view_args.page and not 0 <= view_args.page * (view_args.page_size or self.page_size) <= MAX_ID:
            view_args.page = 0
        return view_args

    def validate_form(self, form):
        ok = super().validate_form(form)
        # Flask-Admin only displays errors that are ``str``: lazy (translated) messages would be
        # silently dropped, leaving the user with "Failed to create record." and no hint.
        # Flask-Admin's own fields raise English messages of its "admin" catalog: translate them here.
        for field in form:
            if isinstance(field.errors, list):
                field.errors = [str(admin_gettext(str(e))) if not isinstance(e, (dict, list, tuple)) else e
                                for e in field.errors]
        return ok


class ScopedAjaxModelLoader(QueryAjaxModelLoader):
    """Ajax lookups that only ever offer rows of the user's scope."""

    def get_query(self):
        return current_scope().filter(super().get_query(), self.model)

    def get_one(self, pk):
        return current_scope().get(self.model, pk)


class ConcessionScopedModelView(SecureModelView):
    """A view over rows that belong to concessions (the model defines ``in_concessions``)."""

    def get_query(self):
        return current_scope().filter(super().get_query(), self.model)

    def get_count_query(self):
        return current_scope().filter(super().get_count_query(), self.model)

    def get_one(self, id):
        return current_scope().get_or_404(self.model, id)

    def handle_action(self, return_view=None):
        # An action naming a row outside the scope is refused whole, not half-applied.
        ids = request.form.getlist("rowid")
        if ids:
            pk = inspect(self.model).primary_key[0]
            try:
                wanted = {int(i) for i in ids}
            except ValueError:
                abort(404)
            found = self.get_query().filter(pk.in_(wanted)).count()
            if found != len(wanted):
                abort(404)
        return super().handle_action(return_view)

    # Relation choices: every select offers only rows of the scope.
    def _scope_relation_fields(self, form):
        scope = current_scope()
        relationships = inspect(self.model).relationships
        for field in form:
            if not hasattr(field, "query_factory"):
                continue
            rel = relationships.get(field.name)
            if rel is None:
                continue
            remote = rel.mapper.class_
            if hasattr(remote, "in_concessions"):
                field.query = scope.filter(db.session.query(remote), remote)
        return form

    def create_form(self, obj=None):
        return self._scope_relation_fields(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._scope_relation_fields(super().edit_form(obj))

    def list_form(self, obj=None):
        return self._scope_relation_fields(super().list_form(obj))

    def on_model_change(self, form, model, is_created):
        stamp_concession(model)
        super().on_model_change(form, model, is_created)


def stamp_concession(model) -> None:
    """Set ``concession_id`` from the row's site, or the user's only concession, and check the scope."""
    if not hasattr(model, "concession_id"):
        return
    site = getattr(model, "site", None)
    if site is not None:
        model.concession_id = site.concession_id
    elif model.concession_id is None and len(current_user.concessions) == 1:
        model.concession_id = current_user.concessions[0].id
    if model.concession_id is None:
        raise ValidationError(_("Choisissez la concession."))
    if not current_scope().allows(model.concession_id):
        abort(404)
