-- Per school per week (weeks start on Monday), from fact_event_metrics: the school days streamed,
-- the largest daily count of students reporting, student-days and student-days attended (present or
-- late). The dashboard sums whole weeks of a date range from here and only the days at its edges
-- from fact_event_metrics, so a page reads ~5x fewer rows; sums and maxima add up exactly.
select
    dbn,
    cast(date_trunc('week', event_date) as date) as week_start,
    count(*) as school_days,
    max(enrolled) as max_enrolled,
    cast(sum(enrolled) as bigint) as student_days,
    cast(sum(present + late) as bigint) as attended
from {{ ref('fact_event_metrics') }}
group by dbn, cast(date_trunc('week', event_date) as date)
order by week_start, dbn
