"""The last stage: a benchmark's leaderboard as a terminal table (``terminal``) and as plots + HTML (``html``)."""
