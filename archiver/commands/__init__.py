"""The operator commands behind ``python -m archiver``, one module per command group."""
