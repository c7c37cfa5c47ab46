"""Who may open the send pages (tests/foundation/test_access_matrix.py)."""
REPORTS = {"admin", "filiale", "dealer_manager", "dealer_staff"}

ACCESS = {"sends.": REPORTS}
SKIP = ("sends.start", "sends.confirm")
