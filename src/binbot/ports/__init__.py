"""Small interfaces (Protocols) between the engine and the outside world."""
