SELECT DISTINCT x.c FROM (SELECT sym AS c FROM t) AS x -- comment
/* block */