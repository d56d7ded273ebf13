-- Per school day per district (with its borough), from fact_event_metrics and dim_school: schools
-- reporting, student-days and student-days attended (present or late). Daily and weekly trends, and
-- the days streamed, for any borough, district and date range, without joining the school-days.
select
    f.event_date,
    s.district,
    s.borough_code,
    s.borough_name,
    count(*) as schools,
    cast(sum(f.enrolled) as bigint) as student_days,
    cast(sum(f.present + f.late) as bigint) as attended
from {{ ref('fact_event_metrics') }} f
join {{ ref('dim_school') }} s on s.dbn = f.dbn
group by f.event_date, s.district, s.borough_code, s.borough_name
order by f.event_date, s.district, s.borough_code
