SELECT * FROM t QUALIFY row_number() OVER (PARTITION BY sym, b ORDER BY ts DESC, px) <= 3
