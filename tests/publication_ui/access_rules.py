"""Who may open the publication screens (walked by tests/foundation/test_access_matrix.py)."""
CONFIGURE = {"admin", "dealer_manager"}
STOCK = {"admin", "filiale", "dealer_manager", "dealer_staff"}

ACCESS = {
    "medium.": {"admin"},
    "publication_list.": CONFIGURE,
    "contact.": CONFIGURE,
    "publication_config.": CONFIGURE,
    "vehicle_media.": STOCK,
}
# The matrix passes a vehicle id as ``id``: on these views it names no row (404 / redirect); the
# scoping of their rows is tested in tests/publication_ui/test_scoping.py.
SKIP = ("medium.details_view", "medium.edit_view", "publication_list.details_view", "publication_list.edit_view",
        "contact.details_view", "contact.edit_view", "medium.action_view", "medium.delete_view",
        "publication_list.action_view", "publication_list.delete_view", "contact.action_view",
        "contact.delete_view")
