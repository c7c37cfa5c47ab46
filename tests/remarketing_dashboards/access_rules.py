"""Who may GET the remarketing dashboards (endpoint prefix → roles): everyone who reads the stock."""
STOCK = {"admin", "filiale", "dealer_manager", "dealer_staff"}
ACCESS = {"remarketing.": STOCK, "remarketing_retail.": STOCK, "remarketing_trade.": STOCK}
SKIP = ()
