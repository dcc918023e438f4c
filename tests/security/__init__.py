"""Production fails closed (issue 14, item 8): secrets, chain deploy, admin, log-in throttle."""
