"""Ingestion: fetch feeds and pages politely, parse them, give each article one identity."""
