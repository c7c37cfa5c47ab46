"""Users: created by admins here or by the CLI; no self-registration."""
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_security.utils import hash_password
from wtforms import PasswordField
from wtforms import validators as v

from models import User
from models.permissions import DEALER_ROLES, USERS_ADMIN

from .base import SecureModelView


class UserView(SecureModelView):
    permission = USERS_ADMIN
    write_permission = USERS_ADMIN
    can_export = False
    column_list = ("email", "first_name", "last_name", "roles", "concessions", "active", "last_login_at")
    column_searchable_list = ("email", "first_name", "last_name")
    column_labels = {"email": _l("E-mail"), "first_name": _l("Prénom"), "last_name": _l("Nom"),
                     "roles": _l("Rôles"), "concessions": _l("Concessions"), "active": _l("Actif"),
                     "last_login_at": _l("Dernière connexion"), "new_password": _l("Mot de passe"),
                     "phone": _l("Téléphone"), "locale": _l("Langue")}
    column_details_exclude_list = ("password", "fs_uniquifier", "fs_webauthn_user_handle", "tf_totp_secret",
                                   "us_totp_secrets", "mf_recovery_codes")
    form_columns = ("email", "first_name", "last_name", "phone", "roles", "concessions", "active", "locale",
                    "new_password")
    form_choices = {"locale": [("fr", "Français"), ("en", "English")]}
    form_args = {"email": {"validators": [v.InputRequired(), v.Email(message=_l("Adresse e-mail invalide."))]}}
    form_extra_fields = {"new_password": PasswordField(_l("Mot de passe"), validators=[
        v.Optional(), v.Length(min=12, message=_l("Au moins 12 caractères."))])}

    def validate_form(self, form):
        ok = super().validate_form(form)
        if not ok or not hasattr(form, "roles"):
            return ok
        names = {r.name for r in form.roles.data or []}
        if not names:
            form.roles.errors.append(_("Choisissez au moins un rôle."))
            ok = False
        if names & set(DEALER_ROLES) and not form.concessions.data:
            form.concessions.errors.append(_("Un utilisateur concession doit appartenir à une concession."))
            ok = False
        if request.endpoint == "user.create_view" and not form.new_password.data:
            form.new_password.errors.append(_("Le mot de passe est obligatoire."))
            ok = False
        return ok

    def on_model_change(self, form, model, is_created):
        model.email = model.email.strip().lower()
        if form.new_password.data:
            model.password = hash_password(form.new_password.data)
        if is_created:
            import uuid

            model.fs_uniquifier = uuid.uuid4().hex
        super().on_model_change(form, model, is_created)


def register_admin(admin):
    admin.add_view(UserView(User, name=_l("Utilisateurs"), endpoint="user", url="/users",
                            category=_l("Organisation")))
