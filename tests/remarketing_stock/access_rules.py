"""Who may GET the stock-list pages (endpoint prefix → roles). Routes with a destination are tested
in test_stock_list_views.py (the matrix skips parameterised routes)."""
ACCESS = {
    "stock_list.": {"admin", "filiale", "dealer_manager", "dealer_staff"},
    "stock_list.import_valuations": {"admin", "dealer_manager", "dealer_staff"},
}
SKIP = ()
