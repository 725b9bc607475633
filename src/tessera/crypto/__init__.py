"""Keys, signatures and encryption for the parties of a federation."""
