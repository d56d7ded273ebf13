-- Enrollment and demographics per school and school year; shares on a 0-1 scale.
select
    "DBN" as dbn,
    "Year" as school_year,
    {{ to_number('"Total Enrollment"') }}::integer as total_enrollment,
    {{ to_number('"# Students with Disabilities"') }}::integer as students_with_disabilities,
    {{ to_share('"% Students with Disabilities"') }} as share_swd,
    {{ to_number('"# English Language Learners"') }}::integer as english_language_learners,
    {{ to_share('"% English Language Learners"') }} as share_ell,
    {{ to_share('"% Poverty"') }} as share_poverty,
    {{ to_share('"Economic Need Index"') }} as economic_need_index
from {{ source('silver', 'demographic_snapshot') }}
