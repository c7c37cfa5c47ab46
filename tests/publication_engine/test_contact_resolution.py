"""Which contact goes into a listing (§6.3): the most specific match, else the site manager."""
import pytest

from models.contact_resolution import ContactInput, ContactResolver, resolve_contact, site_manager_contact

MANAGER = site_manager_contact("Resp GAP", "01 02 03 04 05")
CONTACTS = [
    ContactInput(1, 1, "Tous", "0100000001"),
    ContactInput(2, 1, "Liste Nord", "0100000002", list_ids=frozenset({10})),
    ContactInput(3, 1, "LaCentrale", "0100000003", medium_ids=frozenset({100})),
    ContactInput(4, 1, "Nord LaCentrale", "0100000004", list_ids=frozenset({10}), medium_ids=frozenset({100})),
    ContactInput(5, 1, "Peugeot Citroën ST", "0100000005", makes=frozenset({"PEUGEOT", "CITROEN"}),
                 statuses=frozenset({"ST"})),
    ContactInput(6, 2, "Autre concession", "0200000006"),
]

CASES = [
    # (contacts, list, medium, make, status) → expected contact name
    (CONTACTS, 10, 100, "RENAULT", "ST", "Nord LaCentrale"),  # list + medium
    (CONTACTS, 10, 101, "RENAULT", "ST", "Liste Nord"),  # list beats medium at equal specificity
    (CONTACTS, 11, 100, "RENAULT", "ST", "LaCentrale"),
    (CONTACTS, 11, 101, "peugeot", "ST", "Peugeot Citroën ST"),  # two criteria, make case-insensitive
    (CONTACTS, 11, 101, "PEUGEOT", "VD", "Tous"),  # status does not match
    (CONTACTS, 11, 101, "RENAULT", "ST", "Tous"),
    (CONTACTS[1:5], 11, 101, "RENAULT", "ST", "Resp GAP"),  # no match: the site manager
    ([], 10, 100, "RENAULT", "ST", "Resp GAP"),
    ([CONTACTS[5]], 10, 100, "RENAULT", "ST", "Resp GAP"),  # another concession's contact never applies
]


@pytest.mark.parametrize("contacts,list_id,medium_id,make,status,expected", CASES)
def test_most_specific_contact(contacts, list_id, medium_id, make, status, expected):
    got = resolve_contact(contacts, concession_id=1, list_id=list_id, medium_id=medium_id, make=make,
                          status=status, site_manager=MANAGER)
    assert got.name == expected
    assert got.source == ("site_manager" if expected == "Resp GAP" else "contact")


def test_narrower_choice_wins_then_oldest():
    wide = ContactInput(1, 1, "Large", makes=frozenset({"PEUGEOT", "CITROEN", "DS"}))
    narrow = ContactInput(2, 1, "Étroit", makes=frozenset({"PEUGEOT"}))
    twin = ContactInput(3, 1, "Jumeau", makes=frozenset({"PEUGEOT"}))
    assert resolve_contact([wide, narrow, twin], concession_id=1, list_id=1, medium_id=1, make="PEUGEOT",
                           status="ST").name == "Étroit"


def test_no_contact_and_no_manager_gives_none():
    assert resolve_contact([], concession_id=1, list_id=1, medium_id=1, make="X", status="ST") is None
    assert site_manager_contact(None, None) is None


def test_resolver_answers_per_site_and_caches():
    resolver = ContactResolver(CONTACTS[1:2], {7: MANAGER, 8: site_manager_contact("Resp AGEN", "05")})
    assert resolver.resolve(1, 7, 10, 100, "RENAULT", "ST").name == "Liste Nord"
    assert resolver.resolve(1, 7, 11, 100, "RENAULT", "ST").name == "Resp GAP"
    assert resolver.resolve(1, 8, 11, 100, "RENAULT", "ST").name == "Resp AGEN"
    assert resolver.resolve(1, 9, 11, 100, "RENAULT", "ST") is None
