"""A Runflow-compatible HTTPS stand-in server, to test scripts offline."""
