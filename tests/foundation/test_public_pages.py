"""The listing page and photos that media fetch without logging in, through the feeds' signed keys."""
import io

from PIL import Image

from backoffice.extensions import db
from jobs.feeds.rows import feed_row
from models import VehiclePhoto
from models.vehicle import public_vehicle_token


def _with_photo(app, vehicle):
    import os

    folder = os.path.join(app.config["PHOTO_FOLDER"], str(vehicle.id))
    os.makedirs(folder, exist_ok=True)
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(buf, "JPEG")
    with open(os.path.join(folder, "p.jpg"), "wb") as f:
        f.write(buf.getvalue())
    db.session.add(VehiclePhoto(vehicle_id=vehicle.id, position=0, filename="p.jpg", content_type="image/jpeg",
                                size_bytes=buf.tell()))
    vehicle.photo_count = 1
    db.session.commit()


def test_the_feeds_links_open_the_listing_and_its_photos_without_login(app, network, factories, client):
    vehicle = factories.vehicle(network.gap, make="PEUGEOT", model="208", version="PureTech 100 Allure")
    _with_photo(app, vehicle)
    row = feed_row({"id": vehicle.id, "entry_number": vehicle.entry_number, "photo_count": 1}, "http://x.test")
    listing_path = row["url"].replace("http://x.test", "")
    photo_path = row["images"][0].replace("http://x.test", "")
    assert str(vehicle.id) in listing_path and listing_path != f"/vo/{vehicle.id}"  # signed, not a bare id
    page = client.get(listing_path)
    assert page.status_code == 200 and "PEUGEOT 208 PureTech 100 Allure" in page.get_data(as_text=True)
    image = client.get(photo_path)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"


def test_a_guessed_or_forged_key_answers_404(app, network, factories, client):
    vehicle = factories.vehicle(network.gap)
    _with_photo(app, vehicle)
    key = public_vehicle_token(app.config["SECRET_KEY"], vehicle.id)
    assert client.get(f"/vo/{vehicle.id}").status_code == 404
    assert client.get(f"/vo/{vehicle.id}-0000000000000000").status_code == 404
    assert client.get(f"/photos/{vehicle.id}/1.jpg").status_code == 404
    other = public_vehicle_token("another-secret", vehicle.id)
    assert client.get(f"/photos/{other}/1.jpg").status_code == 404
    assert client.get(f"/photos/{key}/2.jpg").status_code == 404  # only one photo
    assert client.get(f"/photos/{key}/1.jpg").status_code == 200


def test_a_vehicle_no_longer_in_stock_is_not_shown(app, network, factories, client):
    vehicle = factories.vehicle(network.gap, status="VND")
    key = public_vehicle_token(app.config["SECRET_KEY"], vehicle.id)
    assert client.get(f"/vo/{key}").status_code == 404
