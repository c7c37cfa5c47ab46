"""Form fields and small helpers shared by the publication screens."""
from __future__ import annotations

import re

from flask import request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import fields as wtf
from wtforms import validators as v
from wtforms.widgets import CheckboxInput, ListWidget

from models.permissions import MEDIA_ADMIN


CUSTOMER_CODE_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def choices(mapping):
    return [(k, str(label)) for k, label in mapping.items()]


def is_admin() -> bool:
    return current_user.is_authenticated and current_user.has_permission(MEDIA_ADMIN)


def safe_next(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return target
    return default


# Form fields -----------------------------------------------------------------------------------------

class CommaListField(wtf.StringField):
    """A list of words typed as "PEUGEOT, CITROEN" (stored as a JSON list, upper case)."""

    def _value(self):
        return ", ".join(self.data or []) if isinstance(self.data, (list, tuple)) else (self.data or "")

    def process_formdata(self, valuelist):
        if valuelist:
            words = [w.strip().upper() for w in re.split(r"[,;\n]+", valuelist[0] or "")]
            self.data = [w for i, w in enumerate(words) if w and w not in words[:i]] or None
        else:
            self.data = None


class MultiCheckboxField(wtf.SelectMultipleField):
    """Checkboxes for a multiple choice (readable without JavaScript)."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class Range(v.NumberRange):
    """NumberRange that stays quiet when the value could not be read (the field already says why)."""

    def __call__(self, form, field):
        if field.data is not None:
            super().__call__(form, field)


def optional_int(label, minimum=0, maximum=None, message=None):
    return wtf.IntegerField(label, validators=[v.Optional(), Range(
        min=minimum, max=maximum, message=message or _l("Saisissez un nombre entre %(min)s et %(max)s.")
        if maximum is not None else message or _l("Saisissez un nombre positif ou nul."))])


def optional_money(label):
    return wtf.DecimalField(label, places=2, validators=[v.Optional(), Range(
        min=0, message=_l("Le montant ne peut pas être négatif."))])
