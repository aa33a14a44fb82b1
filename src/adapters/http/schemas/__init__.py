"""Request and response models, one module per resource; every field name is snake_case."""
