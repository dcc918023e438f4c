"""What every app's REST API shares: the error shape, pagination and schema helpers."""
