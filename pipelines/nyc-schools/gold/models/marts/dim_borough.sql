-- The five boroughs, keyed by the letter DBNs use.
select borough_code, {{ borough_name('borough_code') }} as borough_name
from (values ('M'), ('X'), ('K'), ('Q'), ('R')) as b(borough_code)
