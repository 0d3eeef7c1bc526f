"""Resource endpoints that partners call with a customer's access token (RFC 6750)."""
