-- Every event has exactly one status, so the four counts add up to the students reporting.
select dbn, event_date
from {{ ref('fact_event_metrics') }}
where present + absent + late + excused <> enrolled
