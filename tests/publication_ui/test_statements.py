"""The publication pages issue a fixed number of SQL statements, whatever the number of rows shown."""
import pytest
from sqlalchemy import event

from backoffice.extensions import db
from models.publication import Contact, MediumStateChange

from .conftest import make_config, make_list, make_medium


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, *args, **kwargs):
        self.count += 1


def _statements(client, url):
    counter = Counter()
    event.listen(db.engine, "before_cursor_execute", counter)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", counter)
    return counter.count


def _grow(pub, factories, start, n):
    """n more media, lists, contacts and state changes for Nord."""
    for i in range(start, start + n):
        medium = make_medium(f"Média {i}", f"m{i}", ["photo"])
        pl = make_list(pub.network.nord, f"Liste {i}", f"L{i:02d}", [pub.network.gap])
        make_config(pub.network.nord, medium, [(pl, f"c{i}"), (pub.nord_list, None)])
        contact = Contact(concession_id=pub.network.nord.id, name=f"Contact {i}", phone="0102030405",
                          media=[medium], publication_lists=[pl])
        db.session.add(contact)
        vehicle = factories.vehicle(pub.network.gap, entry_number=f"G{i:03d}")
        db.session.add(MediumStateChange(vehicle_id=vehicle.id, medium_id=medium.id,
                                         concession_id=pub.network.nord.id, from_state=None, to_state="D",
                                         user_id=pub.network.cdv_nord.id))
    db.session.commit()


@pytest.mark.parametrize("url", ["/publication/config/", "/publication/lists/", "/publication/contacts/",
                                 "/publication/vehicle/", "/remarketing/", "/stock/retail/"])
def test_statement_count_does_not_grow_with_the_rows(pub, factories, login, url):
    client = login(pub.network.cdv_nord)
    _grow(pub, factories, 0, 1)
    few = _statements(client, url)
    _grow(pub, factories, 1, 3)
    many = _statements(client, url)
    assert many == few, f"{url}: {few} statements with few rows, {many} with more"
