"""taocun (淘村): a platform that turns poor villages into rural e-commerce hubs."""

__version__ = "0.1.0"
