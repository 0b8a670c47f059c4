SELECT sym, sum(qty), rank() OVER (ORDER BY sum(qty) DESC) AS r FROM t GROUP BY sym QUALIFY r <= 2 AND row_number() OVER (PARTITION BY sym ORDER BY max(ts) DESC) = 1
