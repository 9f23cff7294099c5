"""The top layer: the ``autocrm`` command."""
