-- Attendance and chronic absenteeism by group (city, borough, district, ENI quintile): streaming-derived
-- figures next to the official end-of-year figures, with the equity covariates of the same schools.
with student_days as (
    select dbn, student_key, count(*) as days, count(*) filter (where status in ('present', 'late')) as days_attended
    from {{ ref('stg_stream_events') }}
    group by dbn, student_key
),
school_stream as (
    select
        dbn,
        count(*) as students,
        sum(days) as student_days,
        sum(days_attended) as student_days_attended,
        count(*) filter (where days_attended < {{ var('chronic_threshold') }} * days) as chronically_absent
    from student_days
    group by dbn
),
schools as (
    select d.*, s.students, s.student_days, s.student_days_attended, s.chronically_absent
    from {{ ref('dim_school') }} d
    join school_stream s using (dbn)
),
grouped as (
    select
        case
            when grouping(borough_name) = 0 then 'borough'
            when grouping(district) = 0 then 'district'
            when grouping(eni_quintile) = 0 then 'eni_quintile'
            else 'city'
        end as group_type,
        case
            when grouping(borough_name) = 0 then borough_name
            when grouping(district) = 0 then lpad(district::varchar, 2, '0')
            when grouping(eni_quintile) = 0 then coalesce('Q' || eni_quintile::varchar, 'unknown')
            else 'New York City'
        end as group_key,
        count(*) as schools,
        sum(students) as students,
        sum(student_days) as student_days,
        sum(student_days_attended)::double / nullif(sum(student_days), 0) as streaming_attendance_rate,
        sum(chronically_absent)::double / nullif(sum(students), 0) as streaming_chronic_absence_rate,
        sum(official_days_present)::double / nullif(sum(official_total_days), 0) as official_attendance_rate,
        sum(official_chronically_absent)::double / nullif(sum(official_students_contributing), 0) as official_chronic_absence_rate,
        sum(economic_need_index * enrollment) / nullif(sum(enrollment) filter (where economic_need_index is not null), 0) as economic_need_index,
        sum(share_temporary_housing * enrollment) / nullif(sum(enrollment) filter (where share_temporary_housing is not null), 0) as share_temporary_housing,
        sum(share_ell * enrollment) / nullif(sum(enrollment) filter (where share_ell is not null), 0) as share_ell,
        sum(share_swd * enrollment) / nullif(sum(enrollment) filter (where share_swd is not null), 0) as share_swd
    from schools
    group by grouping sets ((), (borough_name), (district), (eni_quintile))
)
select
    group_type,
    group_key,
    schools,
    students,
    student_days,
    round(streaming_attendance_rate, 6) as streaming_attendance_rate,
    round(official_attendance_rate, 6) as official_attendance_rate,
    round(streaming_attendance_rate - official_attendance_rate, 6) as attendance_rate_difference,
    round(streaming_chronic_absence_rate, 6) as streaming_chronic_absence_rate,
    round(official_chronic_absence_rate, 6) as official_chronic_absence_rate,
    round(economic_need_index, 6) as economic_need_index,
    round(share_temporary_housing, 6) as share_temporary_housing,
    round(share_ell, 6) as share_ell,
    round(share_swd, 6) as share_swd
from grouped
