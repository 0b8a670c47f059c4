SELECT sym, ts, px - lag(px, 1, 0) OVER (PARTITION BY sym ORDER BY ts) FROM t
