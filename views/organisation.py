"""The network's organisation: pôles, concessions, sites, lieux (admin only)."""
from flask_babel import lazy_gettext as _l

from models import Concession, Location, Pole, Site
from models.permissions import USERS_ADMIN

from .base import SecureModelView

LABELS = {
    "name": _l("Nom"), "code": _l("Code"), "pole": _l("Pôle"), "filiale": _l("Filiale"),
    "concession": _l("Concession"), "site": _l("Site"), "address": _l("Adresse"), "postcode": _l("Code postal"),
    "city": _l("Ville"), "manager_name": _l("Responsable du site"), "manager_phone": _l("Téléphone du responsable"),
    "manager_email": _l("E-mail du responsable"), "sites": _l("Sites"), "concessions": _l("Concessions"),
    "locations": _l("Lieux"),
}


class OrganisationView(SecureModelView):
    permission = USERS_ADMIN
    write_permission = USERS_ADMIN
    column_labels = LABELS
    can_export = False


class PoleView(OrganisationView):
    column_list = ("name", "filiale")
    form_columns = ("name", "filiale")


class ConcessionView(OrganisationView):
    column_list = ("code", "name", "pole")
    column_searchable_list = ("code", "name")
    form_columns = ("code", "name", "pole")


class SiteView(OrganisationView):
    column_list = ("code", "name", "concession", "city", "manager_name", "manager_phone")
    column_searchable_list = ("code", "name", "city")
    form_columns = ("concession", "code", "name", "address", "postcode", "city", "manager_name",
                    "manager_phone", "manager_email")


class LocationView(OrganisationView):
    column_list = ("site", "name")
    form_columns = ("site", "name")


def register_admin(admin):
    category = _l("Organisation")
    admin.add_view(PoleView(Pole, name=_l("Pôles"), endpoint="pole", url="/poles", category=category))
    admin.add_view(ConcessionView(Concession, name=_l("Concessions"), endpoint="concession",
                                  url="/concessions", category=category))
    admin.add_view(SiteView(Site, name=_l("Sites"), endpoint="site", url="/sites", category=category))
    admin.add_view(LocationView(Location, name=_l("Lieux"), endpoint="location", url="/locations",
                                category=category))
