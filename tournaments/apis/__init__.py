"""The REST API views of tournaments (routes in config/api_urls.py)."""
