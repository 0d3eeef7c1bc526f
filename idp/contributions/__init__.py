"""Claims that partners contribute to a customer's profile, with the customer's access token:
the tire shop records a purchase, which the ``tire_purchase`` claim then releases where the
consent ledger allows."""

from idp.contributions.store import (
    CONTRIBUTED_CLAIMS,
    ConflictingWrite,
    Contribution,
    export,
    latest_values,
    of_user,
    record,
    remove,
)
from idp.contributions.tire_purchase import InvalidPurchase, TirePurchase

__all__ = [
    "CONTRIBUTED_CLAIMS",
    "ConflictingWrite",
    "Contribution",
    "InvalidPurchase",
    "TirePurchase",
    "export",
    "latest_values",
    "of_user",
    "record",
    "remove",
]
