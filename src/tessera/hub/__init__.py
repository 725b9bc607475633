"""The hub: FastAPI app, database, relay. It coordinates and can read nothing."""
