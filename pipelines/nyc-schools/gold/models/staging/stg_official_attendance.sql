-- Official end-of-year attendance and chronic absenteeism per school and year (all grades, all students).
select
    dbn,
    year as school_year,
    {{ to_number('total_days') }} as total_days,
    {{ to_number('days_absent') }} as days_absent,
    {{ to_number('days_present') }} as days_present,
    {{ to_share('attendance') }} as attendance_rate,
    {{ to_number('contributing_10_total_days') }} as students_contributing,
    {{ to_number('chronically_absent') }} as chronically_absent,
    {{ to_share('chronically_absent_1') }} as chronic_absence_rate
from {{ source('silver', 'attendance') }}
where grade = 'All Grades' and category = 'All Students'
