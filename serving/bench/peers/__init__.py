"""Stand-alone server scripts for the peers that have no command line of their
own (plain KServe, the bare ASGI floor). Each runs as its own process with only
third-party imports, exactly as a user would write it."""
