"""Roles and the permissions they carry (§1). The one place that says who may do what."""

# Permission names used by views, jobs and templates.
STOCK_READ = "stock-read"            # see vehicles and stock figures (of the scope)
STOCK_WRITE = "stock-write"          # edit vehicles, prices, photos
NETWORK_WIDE = "network-wide"        # scope is the whole network, not own concessions
PUBLICATION_CONFIGURE = "publication-configure"  # media configuration, lists, contacts, states
MEDIA_ADMIN = "media-admin"          # media definitions and gateways
SEND_RUN = "send-run"                # start a send on demand
USERS_ADMIN = "users-admin"          # users, organisation
CAMPAIGN_READ = "campaign-read"
CAMPAIGN_FILIALE = "campaign-filiale"  # create and send flash campaigns
CAMPAIGN_VALIDATE = "campaign-validate"  # VPP review of shared campaigns
CAMPAIGN_DEALER = "campaign-dealer"  # a concession's campaigns: edit, add, validate
REPORTS_READ = "reports-read"        # send reports and their PDFs

ROLES = {
    "admin": (
        "Administrateur plateforme",
        [STOCK_READ, STOCK_WRITE, NETWORK_WIDE, PUBLICATION_CONFIGURE, MEDIA_ADMIN, SEND_RUN,
         USERS_ADMIN, CAMPAIGN_READ, CAMPAIGN_FILIALE, REPORTS_READ],
    ),
    "filiale": (
        "Filiale – équipe digitale",
        [STOCK_READ, NETWORK_WIDE, CAMPAIGN_READ, CAMPAIGN_FILIALE, REPORTS_READ],
    ),
    "validator": ("VPP – validation des campagnes", [CAMPAIGN_VALIDATE]),
    "dealer_manager": (
        "Chef des ventes / responsable VO",
        [STOCK_READ, STOCK_WRITE, PUBLICATION_CONFIGURE, CAMPAIGN_READ, CAMPAIGN_DEALER, REPORTS_READ],
    ),
    "dealer_staff": ("Vendeur", [STOCK_READ, STOCK_WRITE, CAMPAIGN_READ, REPORTS_READ]),
}

DEALER_ROLES = ("dealer_manager", "dealer_staff")
