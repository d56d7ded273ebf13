-- Per school per school day, from the stream: students reporting and how they attended.
-- A late arrival counts as attending (NYC DOE); excused absences count as absences.
select
    dbn,
    event_date,
    count(*) as enrolled,
    count(*) filter (where status = 'present') as present,
    count(*) filter (where status = 'absent') as absent,
    count(*) filter (where status = 'late') as late,
    count(*) filter (where status = 'excused') as excused,
    round((count(*) filter (where status in ('present', 'late')))::double / count(*), 6) as attendance_rate,
    count(*) filter (where is_late) as late_arriving_events,
    max(event_time) as last_event_time
from {{ ref('stg_stream_events') }}
group by dbn, event_date
