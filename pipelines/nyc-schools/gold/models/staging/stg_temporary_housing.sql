-- Students in temporary housing per school and year; `s` (suppressed) becomes null.
select
    dbn,
    school_year,
    {{ to_number('total_students') }}::integer as total_students,
    {{ to_number('students_in_temporary_housing') }}::integer as students_in_temporary_housing,
    {{ to_share('students_in_temporary_housing_1') }} as share_temporary_housing,
    {{ to_number('students_residing_in_shelter') }}::integer as students_in_shelter
from {{ source('silver', 'temporary_housing') }}
