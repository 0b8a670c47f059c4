EXPLAIN SELECT * FROM t a asof FULL OUTER JOIN t b ON a.sym = b.sym AND (a.ts >= b.ts OR a.ts > b.ts)
