"""Who may GET the stock-list pages (endpoint prefix → roles)."""
ACCESS = {"stock_list.": {"admin", "filiale", "dealer_manager", "dealer_staff"}}
SKIP = ()
