"""Alembic migrations, packaged so `leaderboard serve` upgrades a database in place."""
