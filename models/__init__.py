"""All models, one module per domain concept. Importing this package registers every table."""
from .organisation import Concession, Filiale, Location, Pole, Site  # noqa: F401
from .user import Role, User, user_concession  # noqa: F401
from .vehicle import PriceChange, Vehicle, VehiclePhoto  # noqa: F401
from .task import BackgroundTask  # noqa: F401
from .scope import Scope  # noqa: F401
from . import publication, send, campaign  # noqa: F401,E402  (feature modules register their tables)
