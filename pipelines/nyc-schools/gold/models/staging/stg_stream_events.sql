-- One row per attendance event from the stream (silver is already deduplicated and typed).
select
    event_id,
    dbn,
    student_key,
    event_time,
    event_date,
    status,
    is_late,
    schema_version
from {{ source('silver', 'attendance_events') }}
