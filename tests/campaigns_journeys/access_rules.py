"""Who may open the campaign pages (walked by tests/foundation/test_access_matrix.py).

Pages with a campaign id are tested in test_workflow.py (404 outside the user's campaigns)."""
ALL = {"admin", "filiale", "validator", "dealer_manager", "dealer_staff"}
READERS = {"admin", "filiale", "dealer_manager", "dealer_staff"}

ACCESS = {
    "campaigns.": ALL,                                   # the list: each sees the campaigns they may see
    "campaigns.new": {"admin", "filiale", "dealer_manager"},
    "campaigns.statistics_month": {"admin", "filiale"},
    "campaign_calendar.": READERS,
}
SKIP = ("campaigns.open_notification",)
