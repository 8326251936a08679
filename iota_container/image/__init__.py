"""Container images: references, self-describing metadata, build backends, registries."""
