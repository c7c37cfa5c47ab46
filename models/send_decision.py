"""The send decision engine (§6.5): pure, set-based, no Flask and no database.

(Engine being written: constants first so the models can use them.)
"""
from __future__ import annotations

DEFAULT_PUBLISHED_STATUSES = ("ST", "VD", "DV")
SELECTION_MODES = ("auto", "manual")
LIMIT_MODES = ("none", "global", "per_list")
ORDERINGS = ("score", "stock_age_youngest", "stock_age_oldest", "price_asc", "price_desc", "photos", "none")
OUTCOMES = ("sent", "filtered_media", "filtered_custom", "deselected", "not_selected", "limit_reached")

# Mandatory fields a medium may require (its "filtre média"): key → reason when missing, as the guide words it.
MANDATORY_FIELDS = {
    "body_category": "véhicule sans catégorie de renseignée",
    "gearbox": "véhicule sans type de boîte de renseigné",
    "sale_price_ttc": "véhicule sans prix de vente TTC de renseigné",
    "merchant_price": "véhicule sans prix marchand de renseigné",
    "mileage": "véhicule sans kilométrage de renseigné",
    "photo": "véhicule sans photo",
    "energy": "véhicule sans énergie de renseignée",
    "colour": "véhicule sans couleur de renseignée",
    "first_registration_date": "véhicule sans date de 1re mise en circulation de renseignée",
    "registration": "véhicule sans immatriculation de renseignée",
    "vin": "véhicule sans numéro de série (VIN) de renseigné",
    "version": "véhicule sans version de renseignée",
    "fiscal_power": "véhicule sans puissance fiscale de renseignée",
    "doors": "véhicule sans nombre de portes de renseigné",
    "description": "véhicule sans description de renseignée",
}
