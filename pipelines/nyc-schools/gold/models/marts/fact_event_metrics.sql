-- Per school per school day, from the stream: students reporting and how they attended.
-- A late arrival counts as attending (NYC DOE); excused absences count as absences.
--
-- Incremental by event date: `medallion load` records every event date each silver version touched
-- (_medallion.loaded_partitions), and a build recomputes exactly the dates changed since the silver
-- version this table last saw (silver_version) — new events, late ones, replays and compactions
-- alike. The first build and --full-refresh compute every date, and so does a build over a table
-- made before silver_version existed (the column is added, then every date is recomputed once).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='event_date',
    on_schema_change='append_new_columns'
) }}
{% set knows_versions = is_incremental()
    and 'silver_version' in (adapter.get_columns_in_relation(this) | map(attribute='name') | list) %}

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
    max(event_time) as last_event_time,
    (
        select max(version) from {{ source('medallion', 'loaded_versions') }}
        where dataset = 'attendance_events'
    ) as silver_version
from {{ ref('stg_stream_events') }}
{% if knows_versions %}
where event_date in (
    select event_date from {{ source('medallion', 'loaded_partitions') }}
    where dataset = 'attendance_events'
      and version > (select coalesce(max(silver_version), -1) from {{ this }})
)
{% endif %}
group by dbn, event_date
