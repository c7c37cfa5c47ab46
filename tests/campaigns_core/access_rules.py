"""Routes of the campaigns core for the access matrix (tests/foundation/test_access_matrix.py).

The storefront API answers by bearer token, not by session (tested in test_storefront.py); the Excel
export takes a campaign id (tested in test_excel.py).
"""
ACCESS = {"storefront_tokens.": {"admin", "dealer_manager"}}
SKIP = ("storefront.", "campaign_export.")
