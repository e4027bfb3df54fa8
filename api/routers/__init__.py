"""One router per resource; each checks the caller's role, calls the store or the core, answers."""
