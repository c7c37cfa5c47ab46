"""Public pages the media read without logging in: a vehicle's listing page and its photos.

Reached only through the signed key written into the feeds (models.vehicle.public_vehicle_token),
and only while the vehicle is in a published status.
"""
from flask import Blueprint, abort, current_app, render_template, send_from_directory
from sqlalchemy import select

from backoffice.extensions import db
from models import Vehicle, VehiclePhoto
from models.vehicle import PUBLISHED_STATUSES, vehicle_id_from_token

bp = Blueprint("public", __name__)


def _published_vehicle(key: str) -> Vehicle:
    vehicle_id = vehicle_id_from_token(current_app.config["SECRET_KEY"], key)
    vehicle = db.session.get(Vehicle, vehicle_id) if vehicle_id else None
    if vehicle is None or vehicle.status not in PUBLISHED_STATUSES:
        abort(404)
    return vehicle


@bp.get("/vo/<key>")
def listing(key):
    vehicle = _published_vehicle(key)
    return render_template("public/listing.html", vehicle=vehicle, key=key)


@bp.get("/photos/<key>/<int:number>.jpg")
def photo(key, number):
    vehicle = _published_vehicle(key)
    photo = db.session.execute(select(VehiclePhoto).where(VehiclePhoto.vehicle_id == vehicle.id)
                               .order_by(VehiclePhoto.position).offset(number - 1).limit(1)
                               ).scalar_one_or_none() if number >= 1 else None
    if photo is None:
        abort(404)
    import os

    response = send_from_directory(os.path.join(current_app.config["PHOTO_FOLDER"], str(vehicle.id)),
                                   photo.filename, mimetype=photo.content_type)
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response


def register_blueprint(app):
    app.register_blueprint(bp)
