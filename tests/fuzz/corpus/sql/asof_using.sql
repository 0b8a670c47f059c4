WITH a AS (SELECT * FROM t) SELECT * FROM a ASOF JOIN t b USING (sym, ts) ASOF RIGHT JOIN t c ON a.n = c.n AND a.px < c.qty
