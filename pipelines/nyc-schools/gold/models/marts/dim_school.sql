-- One row per school (DBN) in the locations file, with its demographics, economic need and official
-- attendance for the school years set in dbt_project.yml vars.
with demo as (
    select * from {{ ref('stg_demographic_snapshot') }}
    where school_year = '{{ var("enrollment_year") }}'
    qualify row_number() over (partition by dbn order by total_enrollment desc nulls last) = 1
),
official as (
    select * from {{ ref('stg_official_attendance') }}
    where school_year = '{{ var("attendance_year") }}'
    qualify row_number() over (partition by dbn order by total_days desc nulls last) = 1
),
housing as (
    select * from {{ ref('stg_temporary_housing') }}
    where school_year = '{{ var("housing_year") }}'
    qualify row_number() over (partition by dbn order by total_students desc nulls last) = 1
),
eni as (
    select dbn, ntile(5) over (order by economic_need_index, dbn) as eni_quintile
    from demo
    where economic_need_index is not null
)
select
    s.dbn,
    s.school_name,
    s.borough_code,
    {{ borough_name('s.borough_code') }} as borough_name,
    s.district,
    s.managed_by,
    s.school_category,
    s.school_type,
    s.grades,
    s.status,
    s.is_open,
    s.address,
    s.neighborhood,
    s.latitude,
    s.longitude,
    d.total_enrollment as enrollment,
    d.economic_need_index,
    e.eni_quintile,
    d.share_poverty,
    d.share_ell,
    d.share_swd,
    h.share_temporary_housing,
    o.attendance_rate as official_attendance_rate,
    o.chronic_absence_rate as official_chronic_absence_rate,
    o.total_days as official_total_days,
    o.days_present as official_days_present,
    o.students_contributing as official_students_contributing,
    o.chronically_absent as official_chronically_absent
from {{ ref('stg_school_locations') }} s
left join demo d on d.dbn = s.dbn
left join eni e on e.dbn = s.dbn
left join official o on o.dbn = s.dbn
left join housing h on h.dbn = s.dbn
