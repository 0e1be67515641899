"""The public leaderboard: operators register benchmark splits (with their answer keys), submitters
post ``results.json`` files, and the server re-scores the per-query predictions itself before
ranking an entry as verified. See docs/leaderboard.md."""
