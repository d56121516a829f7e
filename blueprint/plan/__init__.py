"""Models -> plan objects (pure data). No I/O, no printing."""
