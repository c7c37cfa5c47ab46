"""View modules. Each module may define ``register_admin(admin)`` and/or ``register_blueprint(app)``.

Add a feature's module to VIEW_MODULES; order is menu order.
"""
from importlib import import_module

VIEW_MODULES = [
    "views.home",
    "views.remarketing",
    "views.stock_lists",
    "views.vehicles",
    "views.publication",
    "views.sends",
    "views.campaigns",
    "views.reports",
    "views.storefront",
    "views.organisation",
    "views.users",
    "views.public",
]


def _modules():
    return [import_module(name) for name in VIEW_MODULES]


def register_admin_views(admin) -> None:
    for module in _modules():
        if hasattr(module, "register_admin"):
            module.register_admin(admin)


def register_blueprints(app) -> None:
    for module in _modules():
        if hasattr(module, "register_blueprint"):
            module.register_blueprint(app)
