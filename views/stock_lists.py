"""Stock lists Particulier / Marchand (§5): filters, quick and advanced search, sort, export, in-place price."""
from __future__ import annotations

from flask import abort
from flask_admin import expose
from flask_babel import lazy_gettext as _l

from models.permissions import STOCK_READ
from models.stock_filters import list_destinations

from .base import SecureBaseView


class StockListView(SecureBaseView):
    """The stock list of one destination."""
    permission = STOCK_READ

    @expose("/")
    def root(self):
        return self.index("retail")

    @expose("/<destination>/")
    def index(self, destination):
        if destination not in list_destinations():
            abort(404)
        return "(to be written)"


def register_admin(admin):
    admin.add_view(StockListView(name=_l("Listes VO"), endpoint="stock_list", url="/stock",
                                 category=_l("Remarketing")))
